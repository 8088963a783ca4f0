"""The fleet overview: every appliance, live, with `/` to filter and enter to open one.

It is the console's first frame: what only the live fleet needs (the log pane with RichLog,
the model's helpers, the bulk verbs and their dialogues) is imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from tui.actions import Scope, bindings_for
from tui.fleet_filters import QuickFilter, passes
from tui.fleet_rows import FleetRow, fleet_row, matches, preview_rows
from tui.fleet_sort import FleetSort
from tui.screens.appliance_actions import ApplianceActions
from widgets.fleet_table import FleetTable
from widgets.rac_footer import RacFooter
from widgets.rac_header import RacHeader, retitle

if TYPE_CHECKING:
    from widgets.log_pane import LogPane

EXPIRY_REFRESH = 60.0


class FleetScreen(ApplianceActions):
    """One row per appliance; verbs act on the row under the cursor."""

    SCOPES = frozenset({Scope.FLEET})
    BINDINGS = [
        *bindings_for(Scope.FLEET),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="rac.clear_filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._query = ""
        self._log_seq = 0
        self._sort = FleetSort()
        self._quick = QuickFilter.ALL
        self._live = False

    def compose(self) -> ComposeResult:
        yield RacHeader()
        # The filter box is mounted on the first `/`: the first frame needs only the fleet.
        yield FleetTable(id="fleet")
        if self.rac.is_started:
            from widgets.log_pane import LogPane

            yield LogPane(show_appliance=True, id="fleet-log")
        else:
            # Nothing to log before the engine runs; the pane (RichLog and all) comes with it.
            yield Static(
                Text.assemble(("Log", "bold"), " · starting…"),
                id="fleet-log",
                classes="log-placeholder",
            )
        yield RacFooter()

    def on_mount(self) -> None:
        self.query_one(FleetTable).focus()
        if self.rac.is_started:
            self._live = True
            self.resync()
            self.set_interval(EXPIRY_REFRESH, self._tick)
        else:
            self._preview()

    def _preview(self) -> None:
        """The first frame: the fleet as listed, every row "starting…"."""
        listing = self.rac.environment.preview()
        rows = preview_rows(
            listing.appliances,
            default_port=listing.default_port,
            domain=listing.domain,
            hosts=listing.hosts,
        )
        self.query_one(FleetTable).set_rows(rows)
        self.title = f"rac — {len(rows)} appliances · starting…"
        self.sub_title = self.rac.environment.title

    def engine_started(self) -> None:
        """The engine runs: live rows (and the log) from now on."""
        self.call_later(self._go_live)

    def _go_live(self) -> None:
        # The rows first (the next frame shows the fleet live), then the log pane in place of
        # its placeholder: mounting it (RichLog, its import and styles) would delay the rows.
        self._live = True
        self.resync()
        self.set_interval(EXPIRY_REFRESH, self._tick)
        self.call_after_refresh(self._mount_log)

    async def _mount_log(self) -> None:
        from widgets.log_pane import LogPane

        placeholder = self.query_one("#fleet-log")
        if not isinstance(placeholder, LogPane):
            await placeholder.remove()
            await self.mount(
                LogPane(show_appliance=True, id="fleet-log"), before=self.query_one(RacFooter)
            )
        self._load_log()

    def on_screen_resume(self) -> None:
        if self._live:
            self.resync()

    @property
    def selected_appliance(self) -> str | None:
        return self.query_one(FleetTable).selected

    def _rows(self) -> list[FleetRow]:
        now = self.rac.clock()
        return [fleet_row(view, now) for view in self.rac.model.views.values()]

    def _shown(self, row: FleetRow) -> bool:
        return matches(row, self._query) and passes(row, self._quick)

    def resync(self) -> None:
        """Rebuild every row from the model (first show, filter change, back from a screen)."""
        if not self._live:
            return
        rows = self._sort.apply([row for row in self._rows() if self._shown(row)])
        table = self.query_one(FleetTable)
        if self._query:
            table.empty_text = f"No appliance matches “{self._query}”. esc clears the filter."
        elif self._quick is not QuickFilter.ALL:
            table.empty_text = f"No appliance is {self._quick} now. 1 shows all."
        else:
            table.empty_text = "The inventory lists no appliances."
        table.show_sort(self._sort.column, self._sort.descending)
        table.set_rows(rows)
        self._load_log()
        self._summary()

    def _load_log(self) -> None:
        """Every fleet log line into the pane (once it replaced its placeholder)."""
        log = self._log_pane()
        if log is None:
            return
        lines = list(self.rac.model.fleet_log)
        log.load(lines)
        self._log_seq = lines[-1].seq if lines else 0

    def _log_pane(self) -> LogPane | None:
        """The fleet's log; None until it is mounted after the engine starts."""
        from widgets.log_pane import LogPane

        pane = self.query_one("#fleet-log")
        return pane if isinstance(pane, LogPane) else None

    def _tick(self) -> None:
        """Countdowns move: update the rows whose text changed, nothing else."""
        self.query_one(FleetTable).update_rows(self._rows())

    def apply_changes(self, names: set[str]) -> None:
        """Repaint what changed; a row entering or leaving the filter rebuilds the list."""
        if not self._live:
            return  # going live rebuilds every row from the model
        model = self.rac.model
        table = self.query_one(FleetTable)
        now = self.rac.clock()
        changed = [fleet_row(model.views[name], now) for name in names if name in model.views]
        if self._reorders(table, changed):
            self.resync()
            return
        table.update_rows(changed)
        self._append_log()
        self._summary()

    def _append_log(self) -> None:
        """The fleet log lines new since the last paint (none before the pane is mounted: it
        loads them all then)."""
        from tui.fleet_model import lines_after

        log = self._log_pane()
        if log is None:
            return
        fresh = lines_after(self.rac.model.fleet_log, self._log_seq)
        if fresh:
            self._log_seq = fresh[-1].seq
            log.append(fresh)

    def _reorders(self, table: FleetTable, changed: list[FleetRow]) -> bool:
        """A changed row enters or leaves the filters, or moves in the sort order."""
        filtered = bool(self._query) or self._quick is not QuickFilter.ALL
        for row in changed:
            shown = table.row(row.name)
            if filtered and (shown is not None) != self._shown(row):
                return True
            if shown is not None and self._sort.key(shown) != self._sort.key(row):
                return True
        return False

    def _summary(self) -> None:
        views = self.rac.model.views.values()
        up = sum(1 for v in views if v.status.state.is_up)
        service = sum(1 for v in views if v.status.sessions)
        enabled = sum(1 for v in views if v.status.enabled)
        title = (
            f"rac — {len(self.rac.model.views)} appliances · {enabled} enabled · "
            f"{up} up · {service} in (SERVICE)"
        )
        table = self.query_one(FleetTable)
        view = [self.rac.environment.title]
        if self._quick is not QuickFilter.ALL:
            view.append(f"showing {self._quick} ({len(table.shown)})")
        if self._sort.column is not None:
            view.append(self._sort.label)
        if table.marked:
            view.append(f"{len(table.marked)} marked: e/d act on them")
        retitle(self, title, " · ".join(view))  # the counts move with every flush

    @on(FleetTable.Opened)
    def _opened(self, event: FleetTable.Opened) -> None:
        if self._target() is not None:
            self.rac.open_dashboard(event.name)

    def action_open(self) -> None:
        """Open the dashboard of the selected appliance."""
        name = self._target()
        if name is not None:
            self.rac.open_dashboard(name)

    async def action_filter(self) -> None:
        """Show the filter box (made on first use)."""
        box = self._filter_box()
        if box is None:
            box = Input(placeholder="filter: name, serial, state, mode…", id="filter")
            box.cursor_blink = self.rac.blink
            await self.mount(box, before=self.query_one(FleetTable))
        box.display = True
        box.focus()

    def _filter_box(self) -> Input | None:
        boxes = self.query("#filter")
        return boxes.first(Input) if boxes else None

    def action_clear_filter(self) -> None:
        """Drop the filter and go back to the table."""
        box = self._filter_box()
        table = self.query_one(FleetTable)
        if box is not None and (box.display or self._query):
            box.value = ""
            box.display = False
            self._query = ""
            self.resync()
            table.focus()
        elif self._quick is not QuickFilter.ALL:
            self.action_quick(QuickFilter.ALL.value)
        elif table.marked:
            table.set_marks(set())
            self._summary()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._query = event.value.strip()
        self.resync()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one(FleetTable).focus()
        if not self._query:
            event.input.display = False

    # -- a fleet of 1,000: sort, quick filters, marks, bulk verbs, audit ----------------

    def action_sort(self) -> None:
        """Sort by the next column."""
        self._sort = self._sort.next_column()
        self.resync()

    def action_sort_reverse(self) -> None:
        """Sort the other way."""
        self._sort = self._sort.reversed()
        self.resync()

    @on(FleetTable.HeaderClicked)
    def _header_clicked(self, event: FleetTable.HeaderClicked) -> None:
        self._sort = self._sort.by(event.column)
        self.resync()

    def action_quick(self, which: str) -> None:
        """Show only the rows in one state family (1 all, 2 up, 3 failing, 4 SERVICE, 5 on)."""
        self._quick = QuickFilter(which)
        self.resync()

    def action_mark(self) -> None:
        """Mark or unmark the row under the cursor, then move down."""
        table = self.query_one(FleetTable)
        name = table.selected
        if name is None:
            return
        table.toggle_mark(name)
        table.action_cursor(1)
        self._summary()

    def action_mark_all(self) -> None:
        """Mark every row shown, or clear the marks when they are all marked already."""
        table = self.query_one(FleetTable)
        shown = set(table.shown)
        table.set_marks(set() if shown <= table.marked else table.marked | shown)
        self._summary()

    def _marked(self) -> list[str]:
        table = self.query_one(FleetTable)
        if not self._live:
            return []
        return [name for name in self.rac.model.views if name in table.marked]

    def action_enable(self) -> None:
        """Enable the selected appliance, or every marked one (one confirmation)."""
        marked = self._marked()
        if marked:
            from tui.screens.fleet_bulk import bulk_enable

            bulk_enable(self, marked)
        else:
            super().action_enable()

    def action_disable(self) -> None:
        """Disable the selected appliance, or every marked one (one confirmation)."""
        marked = self._marked()
        if marked:
            from tui.screens.fleet_bulk import bulk_disable

            bulk_disable(self, marked)
        else:
            super().action_disable()
