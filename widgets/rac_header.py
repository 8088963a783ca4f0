"""Textual's header, with a title that repaints its own line instead of the whole screen.

With 1,000 tunnels churning, the fleet's title ("… 998 up …") changes several times a second,
and Textual made each change cost a whole screen: `Screen.title` is a reactive that repaints
the screen, and the header's `HeaderTitle.update` asks for a new layout. The title's size never
depends on its text (it is as wide as the header and cuts with an ellipsis), so `retitle` sets
the screen's title quietly and repaints the header's line alone.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.visual import VisualType
from textual.widgets import Header
from textual.widgets._header import HeaderClock, HeaderClockSpace, HeaderIcon, HeaderTitle


class FixedTitle(HeaderTitle):
    """The header's title: a new text repaints this line only."""

    def update(self, content: VisualType = "", *, layout: bool = False) -> None:
        super().update(content, layout=False)


class RacHeader(Header):
    """The header every rac screen shows (icon, title · subtitle, clock space)."""

    def compose(self) -> ComposeResult:
        yield HeaderIcon().data_bind(Header.icon)
        yield FixedTitle()
        yield (
            HeaderClock().data_bind(Header.time_format) if self._show_clock else HeaderClockSpace()
        )


def retitle(screen: Screen[Any], title: str, sub_title: str) -> None:
    """Give `screen` this title and subtitle; only its header's title line is repainted."""
    if screen.title == title and screen.sub_title == sub_title:
        return
    screen.set_reactive(Screen.title, title)
    screen.set_reactive(Screen.sub_title, sub_title)
    for header in screen.query(RacHeader):
        header.query_one(FixedTitle).update(header.format_title())
