"""The fleet table: one row per appliance, drawn line by line, so 1,000 churning rows stay fast.

It renders only the rows on screen (Line API), repaints only the rows that changed, and keeps
the columns that matter most (name, state, (SERVICE)) when the terminal is narrow.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.fleet_rows import FleetRow
from tui.state_style import tone_of


@dataclass(frozen=True, slots=True)
class Column:
    """A column: title, width, how early it is dropped on a narrow screen, whether it grows."""

    key: str
    title: str
    width: int
    keep: int
    grow: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("name", "NAME", 14, 100),
    Column("model", "MODEL", 6, 40),
    Column("serial", "SERIAL", 25, 50),
    Column("mode", "MODE", 9, 60),
    Column("state", "STATE", 17, 100),
    Column("port", "PORT", 4, 70),
    Column("relay", "RELAY", 18, 10, grow=True),
    Column("since", "SINCE", 8, 20),
    Column("expires", "EXPIRES", 7, 30),
    Column("service", "SUPPORT", 18, 100, grow=True),
)
GAP = 1


def fit_columns(width: int) -> list[Column]:
    """The columns that fit in `width`, least important dropped first, the rest widened."""
    chosen = list(COLUMNS)
    while chosen and sum(c.width + GAP for c in chosen) > width:
        victim = min((c for c in chosen if c.keep < 100), key=lambda c: c.keep, default=None)
        if victim is None:
            break
        chosen.remove(victim)
    spare = width - sum(c.width + GAP for c in chosen)
    growing = [c for c in chosen if c.grow]
    if spare <= 0 or not growing:
        return chosen
    share, extra = divmod(spare, len(growing))
    widened = []
    for column in chosen:
        if column.grow:
            add = share + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
            column = Column(column.key, column.title, column.width + add, column.keep, True)
        widened.append(column)
    return widened


class FleetTable(ScrollView, can_focus=True):
    """A keyboard- and mouse-driven table of appliances."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False, id="rac.row_up"),
        Binding("down", "cursor(1)", "Down", show=False, id="rac.row_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="rac.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="rac.page_down"),
        Binding("home", "jump(0)", "First", show=False, id="rac.first_row"),
        Binding("end", "jump(-1)", "Last", show=False, id="rac.last_row"),
    ]

    COMPONENT_CLASSES = {
        "fleet-table--header",
        "fleet-table--cursor",
        "fleet-table--up",
        "fleet-table--service",
        "fleet-table--connecting",
        "fleet-table--retrying",
        "fleet-table--failed",
        "fleet-table--down",
        "fleet-table--badge",
    }

    cursor_row: reactive[int] = reactive(0, always_update=True, repaint=False)
    """Moving it repaints the two rows it leaves and reaches (`watch_cursor_row`), not all."""

    class Opened(Message):
        """The operator asked to open an appliance (enter or double click)."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class HeaderClicked(Message):
        """The operator clicked a column title (sort by it)."""

        def __init__(self, column: str) -> None:
            super().__init__()
            self.column = column

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[FleetRow] = []
        self._index: dict[str, int] = {}
        self._columns: list[Column] = list(COLUMNS)
        self.empty_text = "No appliances."
        self.marked: set[str] = set()
        self.sorted_by: tuple[str, bool] | None = None

    # -- data -----------------------------------------------------------------------------

    @property
    def selected(self) -> str | None:
        """The name under the cursor."""
        if not self._rows:
            return None
        return self._rows[min(self.cursor_row, len(self._rows) - 1)].name

    @property
    def shown(self) -> list[str]:
        """The names shown, in order."""
        return [row.name for row in self._rows]

    def toggle_mark(self, name: str) -> None:
        """Mark or unmark one row (bulk verbs act on the marked rows)."""
        self.marked.symmetric_difference_update({name})
        index = self._index.get(name)
        if index is not None:
            self.refresh_line(index + 1)  # a line of the whole table (the header is line 0)

    def set_marks(self, names: set[str]) -> None:
        """Exactly these rows marked."""
        self.marked = set(names)
        self.refresh()

    def show_sort(self, column: str | None, descending: bool) -> None:
        """The header shows ▲/▼ after the column the rows are sorted by."""
        self.sorted_by = None if column is None else (column, descending)
        self.refresh_line(0)

    def row(self, name: str) -> FleetRow | None:
        """The row shown for `name`, if it is shown."""
        index = self._index.get(name)
        return None if index is None else self._rows[index]

    def set_rows(self, rows: list[FleetRow]) -> None:
        """Show exactly these rows (a new filter, or the first load); keeps the selection."""
        keep = self.selected
        self._rows = list(rows)
        self._index = {row.name: i for i, row in enumerate(self._rows)}
        self.virtual_size = Size(self._table_width(), len(self._rows) + 1)
        if keep in self._index:
            self.cursor_row = self._index[keep]
        else:
            self.cursor_row = min(self.cursor_row, max(0, len(self._rows) - 1))
        self.refresh()

    def update_rows(self, rows: list[FleetRow]) -> None:
        """Replace rows that are shown; only the ones on screen are repainted."""
        top = self.scroll_offset.y
        bottom = top + self.size.height
        for row in rows:
            index = self._index.get(row.name)
            if index is None or self._rows[index] == row:
                continue
            self._rows[index] = row
            line = index + 1
            if top < line < bottom:
                self.refresh_line(line)

    # -- geometry and keys ----------------------------------------------------------------

    def _table_width(self) -> int:
        return sum(c.width + GAP for c in self._columns)

    def on_resize(self, event: events.Resize) -> None:
        self._columns = fit_columns(max(event.size.width, 20))
        self.virtual_size = Size(self._table_width(), len(self._rows) + 1)
        self.refresh()

    def watch_cursor_row(self, old: int, new: int) -> None:
        if not self._rows:
            return
        clamped = max(0, min(new, len(self._rows) - 1))
        if clamped != new:
            self.cursor_row = clamped
            return
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        self._scroll_cursor_into_view()

    def _scroll_cursor_into_view(self) -> None:
        line = self.cursor_row + 1
        top = self.scroll_offset.y
        visible = max(1, self.size.height - 1)
        if line <= top:
            self.scroll_to(y=line - 1, animate=False, immediate=True)
        elif line >= top + visible + 1:
            self.scroll_to(y=line - visible, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.cursor_row = self.cursor_row + step

    def action_page(self, direction: int) -> None:
        self.cursor_row = self.cursor_row + direction * max(1, self.size.height - 2)

    def action_jump(self, where: int) -> None:
        self.cursor_row = 0 if where == 0 else max(0, len(self._rows) - 1)

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y - 1
        if event.y == 0:
            column = self._column_at(event.x + self.scroll_offset.x)
            if column is not None:
                self.post_message(self.HeaderClicked(column))
            return
        if not 0 <= index < len(self._rows):
            return
        self.cursor_row = index
        if event.chain >= 2:
            self.post_message(self.Opened(self._rows[index].name))

    def _column_at(self, x: int) -> str | None:
        left = 0
        for column in self._columns:
            if left <= x < left + column.width + GAP:
                return column.key
            left += column.width + GAP
        return None

    # -- drawing --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            strip = self._header()
        else:
            index = self.scroll_offset.y + y - 1
            if not self._rows and y == 1:
                style = self.get_component_rich_style("fleet-table--down")
                strip = Strip([Segment(" " + self.empty_text, style)])
                return strip.crop_extend(0, width, self.rich_style)
            if index >= len(self._rows):
                return Strip.blank(width, self.rich_style)
            strip = self._row(self._rows[index], index == self.cursor_row)
        scroll_x = self.scroll_offset.x
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _header(self) -> Strip:
        style = self.get_component_rich_style("fleet-table--header")
        segments = []
        for column in self._columns:
            title = column.title
            if self.sorted_by is not None and self.sorted_by[0] == column.key:
                title += " ▼" if self.sorted_by[1] else " ▲"
            segments.append(Segment(_cell(title, column.width), style))
            segments.append(Segment(" " * GAP, style))
        return Strip(segments)

    def _row(self, row: FleetRow, cursor: bool) -> Strip:
        base = self.rich_style
        if cursor:
            base = base + self.get_component_rich_style("fleet-table--cursor")
        tone = tone_of(row.state)
        tone_style = base + self.get_component_rich_style(
            f"fleet-table--{tone.value}", partial=True
        )
        segments = []
        for column in self._columns:
            value = _value(row, column.key)
            if column.key == "name" and row.name in self.marked:
                value = f"✓ {value}"  # marked for a bulk verb: readable without colour
            text = _cell(value, column.width)
            style = base
            if column.key == "state":
                style = tone_style
            elif column.key == "service" and row.in_service:
                style = base + self.get_component_rich_style("fleet-table--badge")
            segments.append(Segment(text, style))
            segments.append(Segment(" " * GAP, base))
        return Strip(segments)


def _value(row: FleetRow, key: str) -> str:
    if key == "state":
        return row.state_text
    if key == "service":
        return row.service_text
    value = getattr(row, key)
    return str(value)


def _cell(text: str, width: int) -> str:
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.ljust(width)
