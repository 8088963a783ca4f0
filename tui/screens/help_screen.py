"""`?`: every key and what it does, from the same registry as the footer and the palette."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.actions import ACTIONS, Scope, key_label
from widgets.rac_footer import RacFooter

_WHERE = {
    Scope.FLEET: "fleet",
    Scope.DASHBOARD: "dashboard",
    Scope.WATCH: "watch",
    Scope.SESSIONS: "sessions",
    Scope.APP: "everywhere",
}


class HelpScreen(ModalScreen[None]):
    """A table of actions: key, what it does, where it applies."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", id="rac.help_close", key_display="esc")
    ]

    def __init__(self, keymap: dict[str, str], settings_path: str) -> None:
        super().__init__()
        self._keymap = keymap
        self._settings_path = settings_path

    def compose(self) -> ComposeResult:
        table = Table(box=None, padding=(0, 2), show_edge=False, expand=True)
        table.add_column("KEY", style="bold", no_wrap=True)
        table.add_column("ACTION")
        table.add_column("WHERE", style="dim", no_wrap=True)
        table.add_column("ID (to remap)", style="dim", no_wrap=True)
        for spec in ACTIONS:
            where = " · ".join(_WHERE[scope] for scope in sorted(spec.scopes))
            table.add_row(key_label(self._keymap.get(spec.id, spec.key)), spec.help, where, spec.id)
        table.add_row(
            "ctrl+p", "Command palette: every action above, and the themes", "everywhere", ""
        )
        with VerticalScroll(classes="dialog wide", id="help"):
            yield Static("Keys", classes="dialog-question")
            yield Static(table)
            yield Static(
                "Watching support: on the built-in endpoint every (SERVICE) session is "
                "recorded (asciicast v2, STATE/recordings; `rac sessions play ID` or "
                "`asciinema play FILE` replays it); w watches one live, x ends one, "
                'h lists past sessions. With a real sshd (service = "ssh://…") the '
                "session is end-to-end encrypted: it can be ended, not watched or "
                "recorded. B turns the bell and desktop notice (OSC 9) on or off.",
                classes="dialog-detail",
            )
            yield Static(
                f"Remap any key in {self._settings_path}: "
                '{"keymap": {"rac.enable": "E"}}. ↑↓ scroll · esc closes.',
                classes="dialog-detail",
            )
        yield RacFooter()

    def on_mount(self) -> None:
        self.query_one("#help", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
