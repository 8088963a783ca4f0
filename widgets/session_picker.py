"""Pick one of the open support sessions (when more than one engineer is inside)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from widgets.choice_button import ChoiceButton
from widgets.pick_list import PickList


@dataclass(frozen=True, slots=True)
class SessionChoice:
    """One open session as the picker lists it."""

    session_id: str
    label: str


class SessionPicker(ModalScreen[str | None]):
    """Returns the chosen session id, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="rac.session_pick_cancel")]

    def __init__(self, question: str, choices: list[SessionChoice]) -> None:
        super().__init__()
        self._question = question
        self._choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._question, classes="dialog-question")
            yield Static("↑↓ then enter · esc cancels", classes="dialog-detail")
            with PickList(id="sessions"):
                for index, choice in enumerate(self._choices):
                    yield ChoiceButton(choice.label, name=choice.session_id, value=index == 0)

    def on_mount(self) -> None:
        self.query_one(PickList).focus()

    def on_pick_list_chosen(self, event: PickList.Chosen) -> None:
        event.stop()
        self.dismiss(event.name)

    def action_cancel(self) -> None:
        self.dismiss(None)
