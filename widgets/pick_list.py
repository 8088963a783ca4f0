"""A RadioSet whose keyboard highlight starts on the chosen item, not on the first one."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import RadioButton, RadioSet


class PickList(RadioSet):
    """↑↓ start from the current choice, so 'down' means 'the next one after this'; enter
    (or space) reports a choice even when it is the item already chosen."""

    class Chosen(Message):
        """The operator picked an item, changed or not."""

        def __init__(self, pick_list: PickList, name: str, changed: bool = True) -> None:
            super().__init__()
            self.pick_list = pick_list
            self.name = name
            self.changed = changed
            """False when enter confirmed the item already chosen (accept the default)."""

    def action_toggle_button(self) -> None:
        before = self.pressed_index
        super().action_toggle_button()
        if self._selected is not None:  # the highlighted item is the one just picked
            button = list(self.query(RadioButton))[self._selected]
            if button.name:
                self.post_message(self.Chosen(self, button.name, self.pressed_index != before))

    def on_mount(self) -> None:
        self.call_after_refresh(self._highlight_pressed)

    def _highlight_pressed(self) -> None:
        if self.pressed_index >= 0:
            self._selected = self.pressed_index
