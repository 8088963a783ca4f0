"""Choose the relay port: only allowed ports are offered, so a bad one never reaches the engine."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, RadioSet, Static

from widgets.choice_button import ChoiceButton
from widgets.pick_list import PickList
from widgets.rac_footer import RacFooter


def port_label(port: int, default: int, probe: dict[int, bool]) -> str:
    """`443 (default) — worked in the last test`."""
    label = str(port)
    if port == default:
        label += " (default)"
    if port in probe:
        label += " — worked in the last test" if probe[port] else " — failed the last test"
    return label


class PortDialog(ModalScreen[int | None]):
    """Returns the chosen port, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="rac.port_cancel")]

    def __init__(
        self,
        name: str,
        ports: tuple[int, ...],
        *,
        default: int,
        selected: int,
        probe: dict[int, bool],
        inside: str = "",
    ) -> None:
        super().__init__()
        self._name = name
        self._inside = inside
        self._ports = ports
        self._default = default
        self._selected = selected
        self._probe = probe
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Relay port for {self._name}", classes="dialog-question")
            yield Static(
                "↑↓ then enter. A running tunnel reconnects on the new port at once: "
                "support sessions open over it end (they are told why).",
                classes="dialog-detail",
            )
            if self._inside:  # who would be cut off, by name, before the choice
                yield Static(self._inside, classes="dialog-detail dialog-warning")
            with PickList(id="ports"):
                for port in self._ports:
                    yield ChoiceButton(
                        port_label(port, self._default, self._probe),
                        value=port == self._selected,
                        name=str(port),
                    )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Use port", id="use", variant="primary")
                yield Button("Cancel (esc)", id="cancel")
        yield RacFooter()

    def on_mount(self) -> None:
        self.query_one(RadioSet).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "use":
            self._choose()
        else:
            self.dismiss(None)

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        """A click on a port is the choice."""
        event.stop()
        if event.pressed.name:
            self._choose_port(int(event.pressed.name))

    def on_pick_list_chosen(self, event: PickList.Chosen) -> None:
        """Enter on a port is the choice, even on the port already chosen."""
        event.stop()
        self._choose_port(int(event.name))

    def _choose_port(self, port: int) -> None:
        # A keyboard pick reports both a change and a choice: answer once.
        if not self._answered:
            self._answered = True
            self.dismiss(port)

    def _choose(self) -> None:
        pressed = self.query_one(RadioSet).pressed_button
        if pressed is not None and pressed.name:
            self._choose_port(int(pressed.name))
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
