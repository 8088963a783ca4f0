"""A yes/no question for destructive verbs: y, n or esc, with focus on the safe answer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from widgets.rac_footer import RacFooter


class ConfirmDialog(ModalScreen[bool]):
    """Returns True only for an explicit yes."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="rac.confirm_yes"),
        Binding("n", "answer(False)", "No", id="rac.confirm_no"),
        Binding("escape", "cancel", "Cancel", id="rac.confirm_cancel", key_display="esc"),
    ]

    def __init__(
        self, question: str, detail: str = "", *, yes: str = "Yes", no: str = "No"
    ) -> None:
        super().__init__()
        self._question = question
        self._detail = detail
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._question, classes="dialog-question")
            if self._detail:
                yield Static(self._detail, classes="dialog-detail")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._yes} (y)", id="yes", variant="error")
                yield Button(f"{self._no} (n)", id="no", variant="primary")
        yield RacFooter()

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_cancel(self) -> None:
        """esc: the safe answer (its own action, so the footer lists it beside n)."""
        self.dismiss(False)
