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
from tui.engine.probe import DnsReport, PortReport, ProbeReport, ProbeTarget
from tui.probe_rows import COLUMNS, Tone, probe_rows, recommendation_head
from tui.screens.rac_screen import RacScreen
from tui.support_inside import inside_sentence, support_inside
from widgets.confirm_dialog import ConfirmDialog
from widgets.rac_footer import RacFooter


class ProbeScreen(RacScreen):
    """Runs the probe for one appliance; enter applies the recommended port."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="rac.probe_close"),
        Binding("enter", "apply", "Use recommended port", id="rac.probe_apply"),
        Binding("r", "rerun", "Test again", id="rac.probe_rerun"),
    ]
    COMPONENT_CLASSES = {
        "probe--ok",
        "probe--warn",
        "probe--bad",
        "probe--pending",
        "probe--recommended",
    }

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
            report = await app.engine.probe(
                self.appliance, on_dns=self._on_dns, on_port=self._on_port
            )
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
        self.query_one("#probe-target", Static).update(
            Text.assemble(
                ("relay ", "dim"),
                (target.host, "bold"),
                ("   timeout ", "dim"),
                f"{target.timeout:.0f} s",
                ("   key check ", "dim"),
                "on" if target.handshake else "off",
            )
        )
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
            line.append(
                ", ".join(f"{a.address} ({a.rdtype}, ttl {a.ttl})" for a in dns.answers),
                self._style("ok"),
            )
        return line.append(f"   via {dns.resolver} in {dns.elapsed_ms:.0f} ms", "dim")

    def _matrix(self, target: ProbeTarget) -> Table:
        table = Table(box=None, padding=(0, 2), show_edge=False, expand=True)
        for title in COLUMNS:
            table.add_column(title, no_wrap=title != "SAYS")
        recommended = self.report.recommended.port if self.report else None
        for row in probe_rows(target.ports, self._ports, self._dns, recommended):
            port_cell = Text(row.port_text, self._style("recommended") if row.recommended else "")
            table.add_row(
                port_cell,
                Text(row.result, self._style(row.tone)),
                row.connect,
                row.first_byte,
                Text(row.says),
            )
        return table

    def _recommendation(self) -> Text:
        if self.report is None:
            return Text("Testing every port at once…", self._style(Tone.PENDING))
        recommended = self.report.recommended
        tone, head = recommendation_head(recommended)
        if recommended.port is None:
            return Text.assemble((head, self._style(tone)), recommended.why)
        return Text.assemble(
            (head, self._style(tone)),
            recommended.why,
            ("\nenter uses it · r tests again · esc back", "dim"),
        )

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

        self.app.push_screen(
            ConfirmDialog(
                f"Move {self.appliance} to port {port}?",
                f"The tunnel reconnects on port {port}. {inside_sentence(inside)}",
                yes=f"Move to {port}",
            ),
            answered,
        )

    def _move(self, port: int) -> None:
        app = self.rac
        app.call_engine(
            app.engine.set_port(self.appliance, port), f"{self.appliance} now uses port {port}."
        )
        self.app.pop_screen()

    def action_close(self) -> None:
        """Back to where the test was started."""
        self.app.pop_screen()
