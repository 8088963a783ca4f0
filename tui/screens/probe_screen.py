"""The connectivity test of one appliance: DNS and every relay port, filling in live."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Header, Static

from tui.engine.errors import RacError
from tui.engine.port_check import Outcome
from tui.engine.probe import DnsReport, PortReport, ProbeReport, ProbeTarget
from tui.screens.rac_screen import RacScreen
from tui.support_inside import inside_sentence, support_inside
from widgets.confirm_dialog import ConfirmDialog
from widgets.rac_footer import RacFooter

_TONE = {Outcome.SSH: "ok", Outcome.SMTP: "warn", Outcome.HTTP: "warn", Outcome.TLS: "warn",
         Outcome.OTHER: "warn"}


class ProbeScreen(RacScreen):
    """Runs the probe for one appliance; enter applies the recommended port."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="rac.probe_close"),
        Binding("enter", "apply", "Use recommended port", id="rac.probe_apply"),
        Binding("r", "rerun", "Test again", id="rac.probe_rerun"),
    ]
    COMPONENT_CLASSES = {"probe--ok", "probe--warn", "probe--bad", "probe--pending",
                         "probe--recommended"}

    def __init__(self, appliance: str) -> None:
        super().__init__()
        self.appliance = appliance
        self.report: ProbeReport | None = None
        self._dns: DnsReport | None = None
        self._ports: dict[int, PortReport] = {}
        self._target: ProbeTarget | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="probe"):
            yield Static(id="probe-target")
            yield Static(id="probe-dns")
            yield Static(id="probe-matrix")
            yield Static(id="probe-recommendation")
        yield RacFooter()

    def on_mount(self) -> None:
        self.title = f"Connectivity test — {self.appliance}"
        self.action_rerun()

    def action_rerun(self) -> None:
        """Run the probe (again)."""
        try:
            self._target = self.rac.engine.probe_target(self.appliance)
        except RacError as error:
            self.notify(error.sentence, severity="warning")
            self.app.pop_screen()
            return
        self.report, self._dns, self._ports = None, None, {}
        self._paint()
        self.run_worker(self._run(), exclusive=True, exit_on_error=False)

    async def _run(self) -> None:
        app = self.rac
        try:
            report = await app.engine.probe(self.appliance, on_dns=self._on_dns,
                                            on_port=self._on_port)
        except RacError as error:
            self.notify(error.sentence, severity="error")
            return
        self.report = report
        app.model.record_probe(self.appliance, {p.port: p.usable for p in report.ports})
        self._paint()

    def _on_dns(self, dns: DnsReport) -> None:
        self._dns = dns
        self._paint()

    def _on_port(self, report: PortReport) -> None:
        self._ports[report.port] = report
        self._paint()

    def _paint(self) -> None:
        target = self._target
        if target is None:
            return
        self.query_one("#probe-target", Static).update(Text.assemble(
            ("relay ", "dim"), (target.host, "bold"),
            ("   timeout ", "dim"), f"{target.timeout:.0f} s",
            ("   key check ", "dim"), "on" if target.handshake else "off"))
        self.query_one("#probe-dns", Static).update(self._dns_line())
        self.query_one("#probe-matrix", Static).update(self._matrix(target))
        self.query_one("#probe-recommendation", Static).update(self._recommendation())

    def _dns_line(self) -> Text:
        dns = self._dns
        line = Text("DNS  ", style="bold")
        if dns is None:
            return line.append("resolving…", self._style("pending"))
        if dns.error:
            line.append(dns.error, self._style("bad"))
        else:
            line.append(", ".join(f"{a.address} ({a.rdtype}, ttl {a.ttl})" for a in dns.answers),
                        self._style("ok"))
        return line.append(f"   via {dns.resolver} in {dns.elapsed_ms:.0f} ms", "dim")

    def _matrix(self, target: ProbeTarget) -> Table:
        table = Table(box=None, padding=(0, 2), show_edge=False, expand=True)
        for title in ("PORT", "RESULT", "CONNECT", "FIRST BYTE", "SAYS"):
            table.add_column(title, no_wrap=title != "SAYS")
        recommended = self.report.recommended.port if self.report else None
        for port in target.ports:
            report = self._ports.get(port)
            marker = "★ " if port == recommended else "  "
            port_cell = Text(f"{marker}{port}", self._style("recommended")
                             if port == recommended else "")
            if report is None:
                pending = "waiting for DNS" if self._dns is None else "testing…"
                if self._dns is not None and self._dns.error:
                    pending = "not tried"
                table.add_row(port_cell, Text(pending, self._style("pending")), "", "", "")
                continue
            tone = "ok" if report.usable else _TONE.get(report.outcome, "bad")
            if report.outcome is Outcome.SSH and not report.usable:
                tone = "bad"
            says = report.says
            if report.handshake is not None and report.handshake.presented:
                says = f"{says}  key {report.handshake.presented}".strip()
            table.add_row(port_cell, Text(report.label, self._style(tone)),
                          _ms(report.connect_ms), _ms(report.first_byte_ms), Text(says))
        return table

    def _recommendation(self) -> Text:
        if self.report is None:
            return Text("Testing every port at once…", self._style("pending"))
        recommended = self.report.recommended
        if recommended.port is None:
            return Text.assemble(("No usable port. ", self._style("bad")), recommended.why)
        return Text.assemble((f"Recommended: port {recommended.port}. ", self._style("ok")),
                             recommended.why, ("\nenter uses it · r tests again · esc back",
                                               "dim"))

    def _style(self, role: str) -> Style:
        return self.get_component_rich_style(f"probe--{role}")

    def action_apply(self) -> None:
        """Switch the appliance to the recommended port."""
        app = self.rac
        if self.report is None or self.report.recommended.port is None:
            self.notify("No recommended port yet.", severity="warning")
            return
        port = self.report.recommended.port
        if port == app.engine.status(self.appliance).port:
            self.notify(f"{self.appliance} already uses port {port}.")
            self.app.pop_screen()
            return
        inside = support_inside(app.model, self.appliance)
        if not inside:
            self._move(port)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._move(port)

        self.app.push_screen(ConfirmDialog(
            f"Move {self.appliance} to port {port}?",
            f"The tunnel reconnects on port {port}. {inside_sentence(inside)}",
            yes=f"Move to {port}"), answered)

    def _move(self, port: int) -> None:
        app = self.rac
        app.call_engine(app.engine.set_port(self.appliance, port),
                        f"{self.appliance} now uses port {port}.")
        self.app.pop_screen()

    def action_close(self) -> None:
        """Back to where the test was started."""
        self.app.pop_screen()


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"
