"""Tell the operator when support enters or leaves: a notice naming engineer and appliance,
the terminal bell, and a desktop notification through the terminal (OSC 9 or OSC 777).

OSC 9 is understood by iTerm2, Windows Terminal, kitty, WezTerm and foot; OSC 777 by
VTE terminals (GNOME Terminal, Tilix) and urxvt. Terminals that know neither ignore both.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from tui.engine.events import Event, ServiceEnded, ServiceStarted
from tui.formatting import source_host

TITLE = "rac"


class NotifyStyle(StrEnum):
    """How support's comings and goings reach the operator beyond the console."""

    OSC9 = "osc9"
    OSC777 = "osc777"
    BELL = "bell"
    OFF = "off"


def desktop_sequence(style: NotifyStyle, text: str) -> str:
    """The escape sequence that asks the terminal for a desktop notification."""
    clean = "".join(c for c in text if c.isprintable() and c not in ";\x1b\x07")
    if style is NotifyStyle.OSC9:
        return f"\x1b]9;{clean}\x07"
    if style is NotifyStyle.OSC777:
        return f"\x1b]777;notify;{TITLE};{clean}\x07"
    return ""


class SupportNotifier:
    """Turns ServiceStarted / ServiceEnded into a notice, a bell and a desktop notification."""

    def __init__(
        self,
        style: Callable[[], NotifyStyle],
        *,
        notice: Callable[[str], None],
        bell: Callable[[], None],
        write: Callable[[str], None],
    ) -> None:
        self._style = style
        self._notice = notice
        self._bell = bell
        self._write = write

    def __call__(self, event: Event) -> None:
        if isinstance(event, ServiceStarted):
            who = event.engineer or "support"
            text = f"(SERVICE) {who} entered {event.appliance} from {source_host(event.source)}"
        elif isinstance(event, ServiceEnded):
            who = event.engineer or "support"
            how = " (ended by the operator)" if event.ended_by == "operator" else ""
            text = f"(SERVICE) {who} left {event.appliance}{how}"
        else:
            return
        self._notice(text)
        style = self._style()
        if style is NotifyStyle.OFF:
            return
        self._bell()
        sequence = desktop_sequence(style, text)
        if sequence:
            self._write(sequence)
