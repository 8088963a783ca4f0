"""A RadioSet whose keyboard highlight starts on the chosen item, not on the first one."""

from __future__ import annotations

from textual.widgets import RadioSet


class PickList(RadioSet):
    """↑↓ start from the current choice, so 'down' means 'the next one after this'."""

    def on_mount(self) -> None:
        self.call_after_refresh(self._highlight_pressed)

    def _highlight_pressed(self) -> None:
        if self.pressed_index >= 0:
            self._selected = self.pressed_index
