"""The verbs that act on one appliance, shared by the fleet screen and the dashboard.

Each asks first where the reference does (disable, new seed, host key), then calls the engine
through the app, which owns the engine: leaving a screen never cancels what a verb started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widget import Widget

from tui.engine.service_port import SERVICE_PORT
from tui.engine.states import Mode, TunnelState
from tui.screens.session_actions import SessionActions
from tui.support_inside import inside_sentence, support_inside
from widgets.confirm_dialog import ConfirmDialog

if TYPE_CHECKING:
    from widgets.enable_dialog import EnableRequest

DISABLE_QUESTION = "Are you sure to disable service access?"
DISABLED_NOTICE = "Success — Remote Access has been disabled"


class ApplianceActions(SessionActions):
    """A screen whose verbs act on `selected_appliance`, with a log pane."""

    _focus_before_log: Widget | None = None

    def action_log_level(self) -> None:
        """Cycle the level the log pane shows."""
        from widgets.log_pane import LogPane  # RichLog: not on the first frame's path

        for log in self.query(LogPane):  # none while the console starts
            log.action_cycle_level()

    def action_log(self) -> None:
        """Give the log pane the whole screen, or take it back (focus returns where it was)."""
        from widgets.log_pane import LogPane

        panes = self.query(LogPane)
        if not panes:
            return  # the console is starting: no log yet
        log = panes.first()
        if self.maximized is log:
            self.minimize()
            log.enlarged = False
            if self._focus_before_log is not None:
                self._focus_before_log.focus()
        else:
            self._focus_before_log = self.focused
            self.maximize(log, container=False)
            log.enlarged = True

    @property
    def selected_appliance(self) -> str | None:
        """The appliance the verbs act on."""
        raise NotImplementedError

    def _target(self) -> str | None:
        if not self.rac.is_started:
            self.notify(f"Starting {self.rac.environment.title}: a moment…")
            return None
        name = self.selected_appliance
        if name is None:
            self.notify("No appliance selected.", severity="warning")
        return name

    def action_enable(self) -> None:
        """Open the enable dialogue (after a warning if access is already on)."""
        name = self._target()
        if name is None:
            return
        if not self.rac.model.views[name].status.enabled:
            self._enable_dialog(name)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._enable_dialog(name)

        self.app.push_screen(
            ConfirmDialog(
                f"Remote access is already enabled on {name}. Enable it again?",
                "Enabling again restarts the tunnel, ends the support sessions open now, issues a "
                "new seed and starts a new lifetime. For only a new seed press n, for another "
                "port p.",
                yes="Enable again",
            ),
            answered,
        )

    def _enable_dialog(self, name: str) -> None:
        from widgets.enable_dialog import EnableChoices, EnableDialog

        rac = self.rac
        status = rac.model.views[name].status
        inventory = rac.engine.inventory
        config = inventory.get(name)
        gateways = rac.engine.gateway_candidates(name)
        choices = EnableChoices(
            name=name,
            serial=status.serial,
            mode=status.mode,
            ports=inventory.relay.ports,
            default_port=inventory.relay.default_port,
            selected_port=status.selected_port,
            gateways=gateways,
            gateway=status.gateway or config.gateway,
            probe=rac.model.views[name].probe,
            lifetime=inventory.relay.lifetime,
        )

        def chosen(request: EnableRequest | None) -> None:
            if (
                request is not None
                and request.mode is Mode.SSHACCESS
                and request.gateway
                and not rac.model.views[request.gateway].status.enabled
            ):
                self.notify(
                    f"The gateway {request.gateway} is off: {name} waits for it "
                    f"(WAITING_GATEWAY) until remote access is enabled on "
                    f"{request.gateway}.",
                    severity="warning",
                    timeout=10,
                )
            if request is not None:
                rac.call_engine(
                    rac.engine.enable(
                        name,
                        mode=request.mode,
                        seed=request.seed,
                        port=request.port,
                        gateway=request.gateway,
                        lifetime=request.lifetime,
                        restrictions=request.restrictions,
                    ),
                    f"Remote access enabled on {name}: give support the serial and the seed.",
                )

        self.app.push_screen(EnableDialog(choices, blink=rac.blink), chosen)

    def action_disable(self) -> None:
        """Ask, then disable."""
        name = self._target()
        if name is None:
            return
        rac = self.rac
        if not rac.model.views[name].status.enabled:
            self.notify(f"Remote access is already disabled on {name}.")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                rac.call_engine(rac.engine.disable(name), DISABLED_NOTICE)

        riders = [
            child
            for child, view in rac.model.views.items()
            if view.status.gateway == name and view.status.enabled
        ]
        detail = f"{name}: support sessions end at once and the seed stops working."
        if riders:
            detail += (
                f" {', '.join(riders)} {'is' if len(riders) == 1 else 'are'} reached "
                f"through {name} and will wait until it is enabled again."
            )
        self.app.push_screen(ConfirmDialog(DISABLE_QUESTION, detail), answered)

    def action_port(self) -> None:
        """Choose the relay port."""
        name = self._target()
        if name is None:
            return
        rac = self.rac
        view = rac.model.views[name]
        if view.status.mode is Mode.SSHACCESS:
            self.notify(
                f"{name} is reached through {view.status.gateway} on port "
                f"{SERVICE_PORT}: it has no relay port of its own.",
                severity="warning",
            )
            return
        relay = rac.engine.inventory.relay
        from widgets.port_dialog import PortDialog

        def chosen(port: int | None) -> None:
            if port is not None and port != view.status.selected_port:
                rac.call_engine(rac.engine.set_port(name, port), f"{name} now uses port {port}.")

        inside = support_inside(rac.model, name)
        self.app.push_screen(
            PortDialog(
                name,
                relay.ports,
                default=relay.default_port,
                selected=view.status.selected_port,
                probe=view.probe,
                inside=inside_sentence(inside) if inside else "",
            ),
            chosen,
        )

    def action_new_seed(self) -> None:
        """Ask, then replace the seed."""
        name = self._target()
        if name is None:
            return
        rac = self.rac
        if not rac.model.views[name].status.enabled:
            self.notify(
                f"Remote access is not enabled on {name}: enable it first.", severity="warning"
            )
            return

        def answered(yes: bool | None) -> None:
            if yes:
                rac.call_engine(
                    rac.engine.new_seed(name), f"New seed in force on {name}; give it to support."
                )

        self.app.push_screen(
            ConfirmDialog(
                f"Generate a new seed for {name}?",
                "Support sessions open now end at once, and the current seed stops working.",
            ),
            answered,
        )

    def action_copy_seed(self) -> None:
        """Copy the seed, the serial and seed, or the whole login line (OSC 52)."""
        name = self._target()
        if name is None:
            return
        view = self.rac.model.views[name]
        seed = view.seed
        if seed is None or not view.status.enabled:
            self.notify(f"{name} has no seed: remote access is off.", severity="warning")
            return
        from widgets.copy_dialog import CopyChoice, CopyDialog

        serial = view.status.serial
        choices = [
            CopyChoice("s", "the seed", seed),
            CopyChoice("b", "serial and seed", f"serial {serial} seed {seed}"),
        ]
        line = self.rac.support_command(serial, seed)
        if line is not None:
            choices.append(
                CopyChoice("l", "the login line (rac support connect …, asks for the seed)", line)
            )

        def chosen(choice: CopyChoice | None) -> None:
            if choice is not None:
                self.rac.copy_for_support(name, choice.label, choice.text)

        self.app.push_screen(CopyDialog(name, choices), chosen)

    def action_accept_host_key(self) -> None:
        """Pin the relay key the agent was shown, after a warning."""
        name = self._target()
        if name is None:
            return
        rac = self.rac
        status = rac.model.views[name].status
        if not status.state.needs_operator:
            self.notify(f"{name} is not waiting for a host key decision.")
            return
        changed = status.state is TunnelState.HOST_KEY_MISMATCH
        question = (
            f"Replace the pinned relay key of {status.relay_host}?"
            if changed
            else f"Pin the relay key of {status.relay_host}?"
        )
        detail = f"Presented: {status.fingerprint}. " + (
            "The key CHANGED: accept only if the vendor announced a new key."
            if changed
            else "Compare it with the fingerprint the vendor publishes."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                rac.call_engine(
                    rac.engine.accept_host_key(name), f"Relay key pinned for {status.relay_host}."
                )

        self.app.push_screen(ConfirmDialog(question, detail, yes="Pin it"), answered)

    def action_capture(self) -> None:
        """Ask, then tcpdump one connection attempt; the result is a notice and a log line."""
        name = self._target()
        if name is None:
            return
        rac = self.rac
        status = rac.model.views[name].status
        if status.mode is Mode.SSHACCESS:
            self.notify(
                f"{name} has no tunnel of its own: capture its gateway {status.gateway}.",
                severity="warning",
            )
            return

        async def capture() -> None:
            report = await rac.engine.capture(name)
            self.app.notify(report.sentence, timeout=12)

        def answered(yes: bool | None) -> None:
            if yes:
                self.notify(f"Capturing one connection attempt of {name}…")
                rac.call_engine(capture())

        self.app.push_screen(
            ConfirmDialog(
                f"Start a packet capture (tcpdump) for {name}?",
                f"tcpdump records one connection attempt to {status.relay_host} on port "
                f"{status.selected_port} (at most 5 s), filtered on the relay's addresses; the "
                ".pcap is saved 0600 under the state directory's captures/. The tunnel itself is "
                "not touched.",
                yes="Capture",
            ),
            answered,
        )

    def action_probe(self) -> None:
        """The connectivity test (see the probe screen)."""
        name = self._target()
        if name is not None:
            self.rac.open_probe(name)
