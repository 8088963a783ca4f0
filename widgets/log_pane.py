"""A log pane: time-stamped, levelled lines that follow the tail, filterable by level."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import RichLog, Static

from tui.engine.events import Level
from tui.fleet_model import LogLine
from tui.formatting import clock_time

LEVELS = (Level.DEBUG, Level.INFO, Level.WARNING, Level.ERROR)
_RANK = {level: rank for rank, level in enumerate(LEVELS)}
_FILTERS = (Level.INFO, Level.WARNING, Level.ERROR, Level.DEBUG)
KEEP = 1000


class LogPane(Vertical):
    """Log lines of one appliance (or the fleet); `f` cycles the level shown."""

    ALLOW_MAXIMIZE = True
    COMPONENT_CLASSES = {
        "log-pane--debug",
        "log-pane--info",
        "log-pane--warning",
        "log-pane--error",
    }

    minimum: reactive[Level] = reactive(Level.INFO)
    enlarged: reactive[bool] = reactive(False)

    def __init__(self, *, show_appliance: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self._show_appliance = show_appliance
        self._lines: list[LogLine] = []
        self._width = 0

    def compose(self) -> ComposeResult:
        yield Static(id="log-title")
        yield RichLog(max_lines=KEEP, wrap=True, auto_scroll=True, min_width=20, id="log-lines")

    def on_mount(self) -> None:
        self._title()

    def load(self, lines: Iterable[LogLine]) -> None:
        """Replace the content (on open, or when the filter changes)."""
        self._lines = list(lines)
        log = self.query_one(RichLog)
        log.clear()
        for line in self._lines:
            if _RANK[line.level] >= _RANK[self.minimum]:
                log.write(self._format(line), expand=True)

    def append(self, lines: Iterable[LogLine]) -> None:
        """Add new lines at the tail."""
        log = self.query_one(RichLog)
        for line in lines:
            self._lines.append(line)
            if _RANK[line.level] >= _RANK[self.minimum]:
                log.write(self._format(line), expand=True)
        if len(self._lines) > 2 * KEEP:
            del self._lines[:-KEEP]

    def on_resize(self, event: events.Resize) -> None:
        # RichLog wraps a line when it is written: at a new width, wrap them all again, so a
        # terminal that narrows never cuts the end of a line off.
        if event.size.width != self._width:
            self._width = event.size.width
            if self._lines and self.is_mounted:
                self.load(self._lines)

    def _format(self, line: LogLine) -> Text:
        text = Text(clock_time(line.ts) + " ", style="dim")
        level_style = self.get_component_rich_style(f"log-pane--{line.level.value}")
        text.append(f"{line.level.value.upper():<7} ", level_style)
        if self._show_appliance:
            text.append(f"{line.appliance or 'rac':<14} ", "bold")
        text.append(line.text)
        return text

    def action_cycle_level(self) -> None:
        """info+ → warning+ → error → everything (debug) → info+."""
        self.minimum = _FILTERS[(_FILTERS.index(self.minimum) + 1) % len(_FILTERS)]

    def watch_minimum(self) -> None:
        self._title()
        if self.is_mounted:
            self.load(self._lines)

    def watch_enlarged(self) -> None:
        self._title()

    def _title(self) -> None:
        shown = "everything" if self.minimum is Level.DEBUG else f"{self.minimum.value} and up"
        self.query_one("#log-title", Static).update(
            Text.assemble(
                ("Log", "bold"),
                f" · showing {shown} · f level · l {'smaller' if self.enlarged else 'larger'}",
            )
        )
