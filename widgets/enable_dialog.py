"""Enable remote access, in the reference order: mode, seed, port or gateway, confirm.

The seed rules are checked as the operator types; the Enable button stays off until the
input is valid, so a bad seed or port never reaches the engine. Like the appliance CLI's
`[Y]>` prompts, enter on an untouched choice accepts the defaults and enables; ctrl+s
enables from anywhere; the buttons stay in view whatever the terminal's height.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, RadioSet, Static

from tui.engine.durations import parse_duration
from tui.engine.errors import RacError, SeedError
from tui.engine.seeds import validate_seed
from tui.engine.session_restrictions import SessionRestrictions, build_restrictions
from tui.engine.states import Mode
from widgets.choice_button import ChoiceButton
from widgets.pick_list import PickList
from widgets.port_dialog import port_label
from widgets.rac_footer import RacFooter

GENERATE_LABEL = "Generate a random string to initialize secure communication (recommended)"
ENTER_LABEL = "Enter a random string"


@dataclass(frozen=True, slots=True)
class EnableRequest:
    """What the operator chose; seed None means generate one."""

    mode: Mode
    seed: str | None
    port: int | None
    gateway: str | None
    restrictions: SessionRestrictions | None = None
    lifetime: float | None = None


@dataclass(frozen=True, slots=True)
class EnableChoices:
    """What the dialog offers for one appliance."""

    name: str
    serial: str
    mode: Mode
    ports: tuple[int, ...]
    default_port: int
    selected_port: int
    gateways: tuple[str, ...]
    gateway: str | None
    probe: dict[int, bool]
    lifetime: float = 7 * 86400.0


def lifetime_text(seconds: float) -> str:
    """`604800` → `7d`, `259200` → `3d`, `5400` → `90m`: how an operator would type it."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


class EnableDialog(ModalScreen[EnableRequest | None]):
    """Returns an EnableRequest, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="rac.enable_cancel"),
        Binding("ctrl+s", "submit", "Enable", id="rac.enable_submit", priority=True),
    ]

    def __init__(self, choices: EnableChoices, *, blink: bool = True) -> None:
        super().__init__()
        self.choices = choices
        self._blink = blink

    def compose(self) -> ComposeResult:
        choices = self.choices
        with Vertical(classes="dialog wide", id="enable-dialog"):
            yield Static(
                f"Enable remote access — {choices.name} (serial {choices.serial})",
                classes="dialog-question",
            )
            with VerticalScroll(id="enable-steps"):
                yield Static("1  Mode", classes="step")
                with PickList(id="mode"):
                    yield ChoiceButton(
                        "TUNNEL — this appliance opens the tunnel",
                        name="tunnel",
                        value=choices.mode is Mode.TUNNEL,
                    )
                    yield ChoiceButton(
                        "SSHACCESS — reached on port 22 through a gateway appliance",
                        name="sshaccess",
                        value=choices.mode is Mode.SSHACCESS,
                        disabled=not choices.gateways,
                    )
                yield Static("2  Seed", classes="step")
                with PickList(id="seed-choice"):
                    yield ChoiceButton(GENERATE_LABEL, name="generate", value=True)
                    yield ChoiceButton(ENTER_LABEL, name="enter")
                yield Input(
                    placeholder="6–128 printable characters, no spaces or commas",
                    id="seed-input",
                    disabled=True,
                    max_length=200,
                )
                yield Static("", id="seed-rule")
                yield Static("3  Port", classes="step", id="port-step")
                with PickList(id="port"):
                    for port in choices.ports:
                        yield ChoiceButton(
                            port_label(port, choices.default_port, choices.probe),
                            name=str(port),
                            value=port == choices.selected_port,
                        )
                yield Static("3  Gateway", classes="step", id="gateway-step")
                with PickList(id="gateway"):
                    for index, gateway in enumerate(choices.gateways):
                        chosen = gateway == choices.gateway or (not choices.gateway and index == 0)
                        yield ChoiceButton(gateway, name=gateway, value=chosen)
                yield Static("4  Who may come in, and for how long (optional)", classes="step")
                with Horizontal(classes="field-row"):
                    yield Static("Engineers", classes="field-label")
                    yield Input(
                        placeholder="names in their certificates, e.g. alice bob (empty: anyone)",
                        id="engineers",
                    )
                with Horizontal(classes="field-row"):
                    yield Static("From (UTC)", classes="field-label")
                    yield Input(placeholder="YYYY-MM-DD HH:MM", id="not-before")
                    yield Static("Until", classes="field-label short")
                    yield Input(placeholder="YYYY-MM-DD HH:MM", id="not-after")
                with Horizontal(classes="field-row"):
                    yield Static("Lifetime", classes="field-label")
                    yield Input(lifetime_text(choices.lifetime), id="lifetime")
                yield Static("", id="restriction-rule")
            with Horizontal(classes="dialog-buttons"):
                yield Static("⏎ accept · ctrl+s enable", classes="dialog-keys")
                yield Button("Enable", id="enable", variant="success")
                yield Button("Cancel (esc)", id="cancel")
        yield RacFooter()  # the dialogue's keys, not the fleet's behind it

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = self._blink
        self._sync()
        self.query_one("#mode", RadioSet).focus()

    def _pressed(self, radio_id: str) -> str:
        button = self.query_one(f"#{radio_id}", RadioSet).pressed_button
        return button.name if button is not None and button.name else ""

    @property
    def mode(self) -> Mode:
        """The mode chosen."""
        return Mode(self._pressed("mode") or self.choices.mode.value)

    def _seed_error(self) -> str | None:
        if self._pressed("seed-choice") != "enter":
            return None
        try:
            validate_seed(self.query_one("#seed-input", Input).value)
        except SeedError as error:
            return error.sentence
        return None

    def _sync(self) -> None:
        """Show the steps that apply, and whether the form can be submitted."""
        tunnel = self.mode is Mode.TUNNEL
        for widget_id in ("port-step", "port"):
            self.query_one(f"#{widget_id}").display = tunnel
        for widget_id in ("gateway-step", "gateway"):
            self.query_one(f"#{widget_id}").display = not tunnel
        entering = self._pressed("seed-choice") == "enter"
        seed_input = self.query_one("#seed-input", Input)
        seed_input.disabled = not entering
        rule = self.query_one("#seed-rule", Static)
        error = self._seed_error()
        if not entering:
            rule.update("A seed of 20 characters (about 93 bits) will be generated.")
            rule.set_classes("")
        elif error:
            rule.update(f"✗ {error}")
            rule.set_classes("-invalid")
        else:
            rule.update("✓ the seed meets every rule")
            rule.set_classes("-valid")
        rules = self.query_one("#restriction-rule", Static)
        try:
            restrictions, lifetime = self._limits()
        except RacError as problem:
            rules.update(f"✗ {problem.sentence}")
            rules.set_classes("-invalid")
            self.query_one("#enable", Button).disabled = True
            return
        rules.update(
            f"Admits {restrictions.describe()}; access ends after {lifetime_text(lifetime)}."
        )
        rules.set_classes("")
        self.query_one("#enable", Button).disabled = error is not None

    def _limits(self) -> tuple[SessionRestrictions, float]:
        """The restrictions and lifetime typed so far (RacError names the field at fault)."""

        def value(field_id: str) -> str:
            return self.query_one(f"#{field_id}", Input).value.strip()

        restrictions = build_restrictions(
            value("engineers"), value("not-before") or None, value("not-after") or None
        )
        try:
            lifetime = parse_duration(value("lifetime") or lifetime_text(self.choices.lifetime))
        except ValueError as problem:
            raise RacError(f"Lifetime: {problem}.") from None
        return restrictions, lifetime

    def on_pick_list_chosen(self, event: PickList.Chosen) -> None:
        """Enter on the choice already made accepts it and the rest: enable."""
        event.stop()
        if not event.changed:
            self._submit()

    def action_submit(self) -> None:
        """ctrl+s: enable with what the form holds now."""
        self._submit()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self._sync()
        if event.radio_set.id == "seed-choice" and self._pressed("seed-choice") == "enter":
            self.query_one("#seed-input", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._sync()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "enable":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        if self._seed_error() is not None:
            self.query_one("#seed-input", Input).focus()
            return
        try:
            restrictions, lifetime = self._limits()
        except RacError:
            return
        mode = self.mode
        seed = (
            self.query_one("#seed-input", Input).value
            if self._pressed("seed-choice") == "enter"
            else None
        )
        port = int(self._pressed("port")) if mode is Mode.TUNNEL and self._pressed("port") else None
        gateway = self._pressed("gateway") or None if mode is Mode.SSHACCESS else None
        self.dismiss(
            EnableRequest(
                mode, seed, port, gateway, restrictions if restrictions.any else None, lifetime
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
