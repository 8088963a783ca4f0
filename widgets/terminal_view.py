"""A terminal screen drawn from a pyte emulator through Textual's Line API.

Only the lines pyte marks dirty are repainted; each line's Strip is cached until pyte
touches it again, so a frame costs what changed, not the whole screen. A line is built from
runs of cells that share a style (grouped in C, not cell by cell in Python), and the view
times its own drawing so that its owner can pace the frames.
"""

from __future__ import annotations

import time
from functools import lru_cache
from itertools import groupby
from operator import itemgetter

import pyte
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

_PYTE_NAMES = {"brown": "yellow", "default": ""}
_STYLE_FIELDS = itemgetter(1, 2, 3, 4, 5, 6, 7)
"""A pyte Char's fg, bg, bold, italics, underscore, strikethrough and reverse (not blink)."""
_DATA = itemgetter(0)


def _colour(value: str) -> str | None:
    """pyte's colour (`red`, `brightred`, `brown`, `ff8700`, `default`) as Rich's."""
    if value in _PYTE_NAMES:
        return _PYTE_NAMES[value] or None
    if value.startswith("bright"):
        base = _PYTE_NAMES.get(value[6:], value[6:])
        return f"bright_{base}" if base else None
    if len(value) == 6 and all(c in "0123456789abcdefABCDEF" for c in value):
        return f"#{value}"
    return value


@lru_cache(maxsize=1024)
def _style(
    fg: str,
    bg: str,
    bold: bool,
    italics: bool,
    underscore: bool,
    strikethrough: bool,
    reverse: bool,
) -> Style:
    return Style(
        color=_colour(fg),
        bgcolor=_colour(bg),
        bold=bold or None,
        italic=italics or None,
        underline=underscore or None,
        strike=strikethrough or None,
        reverse=reverse or None,
    )


class TerminalView(Widget, can_focus=False):
    """What a remote terminal shows, fed with the bytes its program wrote."""

    DEFAULT_CSS = """
    TerminalView {
        height: 1fr;
        width: 1fr;
        background: $background;
    }
    """

    def __init__(self, columns: int = 80, rows: int = 24, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.screen_buffer = pyte.Screen(columns, rows)
        self._stream = pyte.Stream(self.screen_buffer)
        self._lines: dict[int, Strip] = {}
        self._draw_time = 0.0
        self.show_cursor = True

    @property
    def columns(self) -> int:
        """The remote terminal's width."""
        return int(self.screen_buffer.columns)

    @property
    def rows(self) -> int:
        """The remote terminal's height."""
        return int(self.screen_buffer.lines)

    def feed(self, text: str) -> None:
        """Run `text` through the emulator and repaint the lines it changed."""
        screen = self.screen_buffer
        cursor_before = screen.cursor.y
        self._stream.feed(text)
        dirty = set(screen.dirty)
        dirty.update((cursor_before, screen.cursor.y))
        screen.dirty.clear()
        self._repaint(dirty)

    def resize_terminal(self, columns: int, rows: int) -> None:
        """The remote terminal changed size."""
        self.screen_buffer.resize(rows, columns)
        self.screen_buffer.dirty.clear()
        self._lines.clear()
        self.refresh()

    def take_draw_time(self) -> float:
        """Seconds spent drawing lines since the last call."""
        spent, self._draw_time = self._draw_time, 0.0
        return spent

    def text_lines(self) -> list[str]:
        """The screen as plain text, one string per row (what a test asserts on)."""
        return [line.rstrip() for line in self.screen_buffer.display]

    def _repaint(self, dirty: set[int]) -> None:
        width = self.size.width or self.columns
        for y in dirty:
            self._lines.pop(y, None)
            if 0 <= y < self.rows:
                self.refresh(Region(0, y, width, 1))

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.columns

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.rows

    def render_line(self, y: int) -> Strip:
        started = time.perf_counter()
        width = self.size.width
        if y >= self.rows:
            return Strip.blank(width)
        strip = self._lines.get(y)
        if strip is None:
            strip = self._build(y)
            self._lines[y] = strip
        strip = strip.crop_extend(0, width, None)
        self._draw_time += time.perf_counter() - started
        return strip

    def _build(self, y: int) -> Strip:
        screen = self.screen_buffer
        row = screen.buffer[y]
        columns = screen.columns
        cells = [row[x] for x in range(columns)]
        cursor = screen.cursor
        if self.show_cursor and not cursor.hidden and cursor.y == y and 0 <= cursor.x < columns:
            under = cells[cursor.x]
            cells[cursor.x] = under._replace(reverse=not under.reverse)
        segments = [
            Segment("".join(map(_DATA, run)), _style(*fields))
            for fields, run in groupby(cells, _STYLE_FIELDS)
        ]
        return Strip(segments, columns)
