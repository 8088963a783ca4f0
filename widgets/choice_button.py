"""A radio button whose state reads without colour: ● when chosen, empty when not (Textual's
own draws ● in both and tells them apart by colour only; a monochrome or colour-blind
operator could not)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import RadioButton

CHOSEN = "●"
NOT_CHOSEN = " "


class ChoiceButton(RadioButton):
    """A RadioButton that draws its state as a shape, not only as a colour."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = CHOSEN if self.value else NOT_CHOSEN
        return super()._button
