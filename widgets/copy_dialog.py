"""What to copy for support: the seed, the serial and seed together, or the login line (which
never holds the seed: a command line is readable by every local user)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from widgets.rac_footer import RacFooter


@dataclass(frozen=True, slots=True)
class CopyChoice:
    """One thing that can be copied: its key, what the list says, the text itself."""

    key: str
    label: str
    text: str


class CopyDialog(ModalScreen[CopyChoice | None]):
    """Returns the choice to copy, or None."""

    BINDINGS = [
        Binding("s", "pick('s')", "Seed", id="rac.copy_pick_seed"),
        Binding("b", "pick('b')", "Serial + seed", id="rac.copy_pick_both"),
        Binding("l", "pick('l')", "Login line", id="rac.copy_pick_line"),
        Binding("escape", "cancel", "Cancel", id="rac.copy_cancel", key_display="esc"),
    ]

    def __init__(self, name: str, choices: list[CopyChoice]) -> None:
        super().__init__()
        self._name = name
        self._choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(f"Copy for support — {self._name}", classes="dialog-question")
            yield OptionList(
                *(Option(f"{c.key}  {c.label}", id=c.key) for c in self._choices), id="copy-choices"
            )
            yield Static(
                "↑↓ then enter, or the letter. The terminal's clipboard receives it (OSC 52).",
                classes="dialog-detail",
            )
        yield RacFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick":
            return any(c.key == parameters[0] for c in self._choices)
        return True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_pick(event.option.id or "")

    def action_pick(self, key: str) -> None:
        """Copy the choice with this key."""
        chosen = next((c for c in self._choices if c.key == key), None)
        if chosen is not None:
            self.dismiss(chosen)

    def action_cancel(self) -> None:
        """Nothing copied."""
        self.dismiss(None)
