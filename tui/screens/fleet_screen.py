"""The fleet overview: every appliance, live, with `/` to filter and enter to open one."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Input

from tui.actions import Scope, bindings_for
from tui.fleet_model import lines_after
from tui.fleet_rows import FleetRow, fleet_row, matches
from tui.screens.appliance_actions import ApplianceActions
from widgets.fleet_table import FleetTable
from widgets.log_pane import LogPane

EXPIRY_REFRESH = 60.0


class FleetScreen(ApplianceActions):
    """One row per appliance; verbs act on the row under the cursor."""

    SCOPES = frozenset({Scope.FLEET})
    BINDINGS = [*bindings_for(Scope.FLEET),
                Binding("escape", "clear_filter", "Clear filter", show=False,
                        id="rac.clear_filter")]

    def __init__(self) -> None:
        super().__init__()
        self._query = ""
        self._log_seq = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: name, serial, state, mode…", id="filter")
        yield FleetTable(id="fleet")
        yield LogPane(show_appliance=True, id="fleet-log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#filter", Input).cursor_blink = self.rac.blink
        self.sub_title = self.rac.environment.title
        self.resync()
        self.query_one(FleetTable).focus()
        self.set_interval(EXPIRY_REFRESH, self._tick)

    def on_screen_resume(self) -> None:
        self.resync()

    @property
    def selected_appliance(self) -> str | None:
        return self.query_one(FleetTable).selected

    def _rows(self) -> list[FleetRow]:
        now = self.rac.clock()
        return [fleet_row(view, now) for view in self.rac.model.views.values()]

    def resync(self) -> None:
        """Rebuild every row from the model (first show, filter change, back from a screen)."""
        rows = [row for row in self._rows() if matches(row, self._query)]
        table = self.query_one(FleetTable)
        table.empty_text = (f"No appliance matches “{self._query}”. esc clears the filter."
                            if self._query else "The inventory lists no appliances.")
        table.set_rows(rows)
        log = self.query_one(LogPane)
        lines = list(self.rac.model.fleet_log)
        log.load(lines)
        self._log_seq = lines[-1].seq if lines else 0
        self._summary()

    def _tick(self) -> None:
        """Countdowns move: update the rows whose text changed, nothing else."""
        self.query_one(FleetTable).update_rows(self._rows())

    def apply_changes(self, names: set[str]) -> None:
        """Repaint what changed; a row entering or leaving the filter rebuilds the list."""
        model = self.rac.model
        table = self.query_one(FleetTable)
        now = self.rac.clock()
        changed = [fleet_row(model.views[name], now) for name in names if name in model.views]
        if self._query and any((table.row(row.name) is not None) != matches(row, self._query)
                               for row in changed):
            self.resync()
            return
        table.update_rows(changed)
        fresh = lines_after(model.fleet_log, self._log_seq)
        if fresh:
            self._log_seq = fresh[-1].seq
            self.query_one(LogPane).append(fresh)
        self._summary()

    def _summary(self) -> None:
        views = self.rac.model.views.values()
        up = sum(1 for v in views if v.status.state.is_up)
        service = sum(1 for v in views if v.status.sessions)
        enabled = sum(1 for v in views if v.status.enabled)
        self.title = (f"rac — {len(self.rac.model.views)} appliances · {enabled} enabled · "
                      f"{up} up · {service} in (SERVICE)")

    @on(FleetTable.Opened)
    def _opened(self, event: FleetTable.Opened) -> None:
        self.rac.open_dashboard(event.name)

    def action_open(self) -> None:
        """Open the dashboard of the selected appliance."""
        name = self.selected_appliance
        if name is not None:
            self.rac.open_dashboard(name)

    def action_filter(self) -> None:
        """Show the filter box."""
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        """Drop the filter and go back to the table."""
        box = self.query_one("#filter", Input)
        if box.display or self._query:
            box.value = ""
            box.display = False
            self._query = ""
            self.resync()
            self.query_one(FleetTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._query = event.value.strip()
        self.resync()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one(FleetTable).focus()
        if not self._query:
            self.query_one("#filter", Input).display = False
