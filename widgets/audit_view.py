"""Lines of text drawn with the Line API: only the lines on screen are rendered, so an audit
log of 100,000 records scrolls as fast as one of ten.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class AuditView(ScrollView, can_focus=True):
    """A read-only list of lines."""

    BINDINGS = [
        Binding("up", "scroll_up", "Up", show=False, id="rac.audit_up"),
        Binding("down", "scroll_down", "Down", show=False, id="rac.audit_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="rac.audit_page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="rac.audit_page_down"),
        Binding("home", "scroll_home", "First", show=False, id="rac.audit_home"),
        Binding("end", "scroll_end", "Last", show=False, id="rac.audit_end"),
    ]
    COMPONENT_CLASSES = {"audit-view--empty"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[str] = []
        self.empty_text = "Nothing yet."

    def set_lines(self, lines: list[str]) -> None:
        """Show exactly these lines."""
        self._lines = lines
        width = max((len(line) for line in lines[:2000]), default=0)
        self.virtual_size = Size(width, len(lines))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        index = self.scroll_offset.y + y
        if not self._lines and y == 0:
            style = self.get_component_rich_style("audit-view--empty")
            return Strip([Segment(" " + self.empty_text, style)]).crop_extend(
                0, width, self.rich_style
            )
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        x = self.scroll_offset.x
        return Strip([Segment(self._lines[index], self.rich_style)]).crop_extend(
            x, x + width, self.rich_style
        )
