"""Quitting with tunnels up: disable them first, keep them enabled for next time, or stay."""

from __future__ import annotations

from enum import StrEnum

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from widgets.rac_footer import RacFooter


class QuitChoice(StrEnum):
    """What to do on the way out."""

    DISABLE = "disable"
    KEEP = "keep"
    STAY = "stay"


class QuitDialog(ModalScreen[QuitChoice]):
    """Asks before remote access goes away with the console; focus on staying."""

    BINDINGS = [
        Binding("d", "choose('disable')", "Disable and quit", id="rac.quit_disable"),
        Binding("k", "choose('keep')", "Quit, keep enabled", id="rac.quit_keep"),
        Binding("escape", "choose('stay')", "Stay", id="rac.quit_stay"),
    ]

    def __init__(self, enabled: list[str], in_service: list[str]) -> None:
        super().__init__()
        self._enabled = enabled
        self._in_service = in_service

    def compose(self) -> ComposeResult:
        count = len(self._enabled)
        names = ", ".join(self._enabled[:4]) + (" …" if count > 4 else "")
        detail = (
            f"Support is inside {', '.join(self._in_service)} right now. "
            if self._in_service
            else ""
        )
        detail += (
            "Disable ends support access now. Keep leaves them enabled: the tunnels "
            "stop with the console and come back when it starts again."
        )
        with Vertical(classes="dialog wide"):
            yield Static(
                f"Remote access is enabled on {count} appliance"
                f"{'s' if count != 1 else ''} ({names}). Disable before quitting?",
                classes="dialog-question",
            )
            yield Static(detail, classes="dialog-detail")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Disable, quit (d)", id="disable", variant="error")
                yield Button("Keep, quit (k)", id="keep", variant="warning")
                yield Button("Stay (esc)", id="stay", variant="primary")
        yield RacFooter()

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(QuitChoice(event.button.id or "stay"))

    def action_choose(self, choice: str) -> None:
        self.dismiss(QuitChoice(choice))
