"""Extend an appliance's access lifetime by a duration the operator types (`24h`, `3d`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tui.engine.durations import parse_duration

DEFAULT_EXTENSION = "24h"


class LifetimeDialog(ModalScreen[float | None]):
    """Returns the seconds to add, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="rac.lifetime_cancel")]

    def __init__(self, name: str, left: str, *, blink: bool = True) -> None:
        super().__init__()
        self._name = name
        self._left = left
        self._blink = blink

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Extend remote access on {self._name}", classes="dialog-question")
            yield Static(
                f"Access ends in {self._left}. Add (e.g. 90m, 24h, 3d):", classes="dialog-detail"
            )
            yield Input(DEFAULT_EXTENSION, id="extension")
            yield Static("", id="extension-rule")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Extend", id="extend", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = self._blink
        field.focus()

    def _seconds(self) -> float | None:
        try:
            seconds = parse_duration(self.query_one(Input).value)
        except ValueError as error:
            self.query_one("#extension-rule", Static).update(f"✗ {error}")
            return None
        self.query_one("#extension-rule", Static).update("")
        return seconds

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one("#extend", Button).disabled = self._seconds() is None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._extend()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "extend":
            self._extend()
        else:
            self.dismiss(None)

    def _extend(self) -> None:
        seconds = self._seconds()
        if seconds is not None:
            self.dismiss(seconds)

    def action_cancel(self) -> None:
        self.dismiss(None)
