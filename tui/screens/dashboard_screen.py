"""One appliance's dashboard: tunnel, port, seed, (SERVICE), access, sessions and its log."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll

from tui.actions import Scope, bindings_for
from tui.fleet_model import lines_after
from tui.screens.appliance_actions import ApplianceActions
from tui.screens.session_actions import sessions_note
from tui.state_style import state_label
from widgets.access_panel import AccessPanel
from widgets.log_pane import LogPane
from widgets.port_panel import PortPanel
from widgets.rac_footer import RacFooter
from widgets.rac_header import RacHeader, retitle
from widgets.seed_panel import SeedPanel
from widgets.service_banner import ServiceBanner
from widgets.session_list import SessionList
from widgets.tunnel_panel import TunnelPanel

TICK = 1.0
NARROW = 110


class DashboardScreen(ApplianceActions):
    """Everything about one appliance, live."""

    SCOPES = frozenset({Scope.DASHBOARD})
    BINDINGS = bindings_for(Scope.DASHBOARD)

    def __init__(self, appliance: str) -> None:
        super().__init__()
        self.appliance = appliance
        self._log_seq = 0
        self._painted = False

    def compose(self) -> ComposeResult:
        yield RacHeader()
        yield ServiceBanner(id="service-banner")
        with VerticalScroll(id="panels"):
            with Horizontal(classes="panel-row"):
                yield TunnelPanel(id="tunnel", classes="panel")
                yield SeedPanel(id="seed", classes="panel")
            with Horizontal(classes="panel-row short"):
                yield PortPanel(id="port", classes="panel")
                yield AccessPanel(id="access", classes="panel")
            yield SessionList(id="sessions", classes="panel")
        yield LogPane(id="appliance-log")
        yield RacFooter()

    def on_mount(self) -> None:
        titles = {
            "#tunnel": "Tunnel",
            "#seed": "Seed",
            "#port": "Port",
            "#access": "Access",
            "#sessions": "Sessions of this enablement",
        }
        for selector, title in titles.items():
            self.query_one(selector).border_title = title
        view = self.rac.model.views[self.appliance]
        lines = list(view.log)
        self.query_one(LogPane).load(lines)
        self._log_seq = lines[-1].seq if lines else 0
        self._painted = True
        self.refresh_panels()
        self.set_interval(TICK, self.refresh_panels)

    @property
    def selected_appliance(self) -> str | None:
        return self.appliance

    def on_resize(self, event: events.Resize) -> None:
        # Side by side needs room for the seed on one line; otherwise stack the panels.
        self.set_class(event.size.width < NARROW, "-narrow")

    def apply_changes(self, names: set[str]) -> None:
        """Repaint when this appliance changed."""
        if self.appliance not in names or not self._painted:
            return
        self.refresh_panels()
        view = self.rac.model.views[self.appliance]
        fresh = lines_after(view.log, self._log_seq)
        if fresh:
            self._log_seq = fresh[-1].seq
            self.query_one(LogPane).append(fresh)

    def refresh_panels(self) -> None:
        """Every panel from the model, as of now (countdowns move each second)."""
        if not self._painted:
            return
        rac = self.rac
        view = rac.model.refresh(self.appliance)
        status = view.status
        now = rac.clock()
        relay = rac.engine.inventory.relay
        model = f" · {status.model}" if status.model else ""
        retitle(
            self,
            f"{status.name}{model} · serial {status.serial}",
            state_label(status.state, status.attempt),
        )
        self.query_one(ServiceBanner).show(status.sessions)
        self.query_one(TunnelPanel).show(status, now)
        self.query_one(SeedPanel).show(
            view.seed if status.enabled else None,
            status.serial,
            rac.support_command(status.serial, view.seed),
        )
        self.query_one(PortPanel).show(status, relay.ports, relay.default_port, view.probe)
        self.query_one(AccessPanel).show(status, now)
        sessions = self.query_one(SessionList)
        sessions.show(list(view.history.values()), now)
        sessions.border_subtitle = sessions_note(
            rac.engine.watchable(self.appliance),
            rac.engine.restrictions(self.appliance),
            status.enabled,
        )

    def action_back(self) -> None:
        """Back to the fleet."""
        self.app.pop_screen()
