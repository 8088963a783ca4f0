"""The audit log, browsable: newest first, `/` filters (appliance, action, engineer, …),
new records appear as they are written.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, Input

from tui.audit_lines import AuditLine, read_after, read_tail
from tui.formatting import home_path
from tui.screens.rac_screen import RacScreen
from widgets.audit_view import AuditView
from widgets.rac_footer import RacFooter

FOLLOW_EVERY = 1.0


class AuditScreen(RacScreen):
    """Every audit record the console can read, newest first, with a filter."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="rac.audit_back", key_display="esc"),
        Binding("slash", "filter", "Filter", id="rac.audit_filter", key_display="/"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._lines: list[AuditLine] = []
        self._offset = 0
        self._query = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: appliance, action, engineer, port…", id="audit-filter")
        yield AuditView(id="audit")
        yield RacFooter()

    def on_mount(self) -> None:
        self.title = "Audit log"
        self.sub_title = home_path(self.path)
        box = self.query_one("#audit-filter", Input)
        box.cursor_blink = self.rac.blink
        self._lines, self._offset = read_tail(self.path)
        self._show()
        self.query_one(AuditView).focus()
        self.set_interval(FOLLOW_EVERY, self._follow)

    def _follow(self) -> None:
        fresh, self._offset = read_after(self.path, self._offset)
        if fresh:
            self._lines.extend(fresh)
            self._show()

    def _show(self) -> None:
        needle = self._query.lower()
        texts = [line.text for line in reversed(self._lines)]
        shown = [text for text in texts if needle in text.lower()] if needle else texts
        view = self.query_one(AuditView)
        view.empty_text = (
            f"No audit record matches “{self._query}”. esc clears the filter."
            if self._query
            else f"No audit records yet in {home_path(self.path)}."
        )
        view.set_lines(shown)
        count = f"{len(shown)} of {len(texts)}" if needle else str(len(texts))
        self.sub_title = f"{home_path(self.path)} · {count} records, newest first"

    def action_filter(self) -> None:
        """Focus the filter box."""
        self.query_one("#audit-filter", Input).focus()

    @on(Input.Changed, "#audit-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._query = event.value.strip()
        self._show()

    @on(Input.Submitted, "#audit-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one(AuditView).focus()

    def action_back(self) -> None:
        """Clear the filter, or go back."""
        box = self.query_one("#audit-filter", Input)
        if box.value:
            box.value = ""
            self.query_one(AuditView).focus()
            return
        self.app.pop_screen()
