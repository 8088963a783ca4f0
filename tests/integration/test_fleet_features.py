"""A fleet of many: sort, quick state filters, marks and bulk verbs, the audit screen."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.console_support import lab_app, recorder_for, settle
from tests.lab_names import LAB_C
from tui.app import RacApp
from tui.engine.states import TunnelState
from tui.screens.fleet_screen import FleetScreen
from widgets.confirm_dialog import ConfirmDialog
from widgets.fleet_table import FleetTable

SIZE = (140, 40)
WEB = "web-proxy-1"
LAB_X = "mail-gw-x"


def _table(app: RacApp) -> FleetTable:
    return app.screen.query_one(FleetTable)


def _subtitle(app: RacApp) -> str:
    return app.screen.sub_title or ""


def _header(table: FleetTable) -> str:
    return "".join(segment.text for segment in table.render_line(0))


async def test_sort_by_state_and_the_other_way(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        await app.engine.enable(WEB)
        await events.wait_state(WEB, TunnelState.ESTABLISHED)
        await settle(pilot)
        table = _table(app)
        assert table.shown[0] == LAB_C  # inventory order
        await pilot.press("s", "s", "s", "s", "s")  # name, model, serial, mode, state
        assert table.shown[0] == WEB and "STATE ▲" in _header(table)
        assert "sorted by state ▲" in _subtitle(app)
        await pilot.press("S")
        assert table.shown[-1] == WEB and "STATE ▼" in _header(table)
        await pilot.click(FleetTable, offset=(2, 0))  # the NAME title
        assert table.shown == sorted(table.shown) and "NAME ▲" in _header(table)


async def test_quick_filters_show_up_failing_service_enabled(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        await app.engine.enable(WEB)
        await events.wait_state(WEB, TunnelState.ESTABLISHED)
        await settle(pilot)
        table = _table(app)
        await pilot.press("2")
        assert table.shown == [WEB] and "showing up (1)" in _subtitle(app)
        await pilot.press("3")
        assert table.shown == []
        assert "No appliance is failing now. 1 shows all." in table.empty_text
        await pilot.press("4")
        assert table.shown == []
        await pilot.press("5")
        assert table.shown == [WEB]
        # a row that changes state enters the filter by itself
        await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        await settle(pilot)
        assert table.shown == [LAB_C, WEB]
        await pilot.press("escape")
        assert len(table.shown) == 5


async def test_marks_and_bulk_enable_then_disable_with_one_confirmation(
    tmp_path: Path, notices: list[str]
) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        table = _table(app)
        await pilot.press("space", "space")  # marks mail-gw-1 and mail-gw-x
        assert table.marked == {LAB_C, LAB_X}
        row = "".join(segment.text for segment in table.render_line(1))
        assert row.startswith("✓ mail-gw-1")  # readable without colour
        assert "2 marked" in _subtitle(app)
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "Enable remote access on 2 appliances?" in str(
            dialog.query_one(".dialog-question").render()
        )
        await pilot.press("y")
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        await events.wait_state(LAB_X, TunnelState.ESTABLISHED)
        await app.workers.wait_for_complete()
        assert not app.engine.status("mgmt-1").enabled

        await pilot.press("asterisk")  # every row shown marked: 2 of them are enabled
        assert len(table.marked) == 5
        await pilot.press("d")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "Are you sure to disable service access on 2 appliances?" in str(
            dialog.query_one(".dialog-question").render()
        )
        await pilot.press("n")
        assert app.engine.status(LAB_C).enabled
        await pilot.press("d", "y")
        await events.wait_state(LAB_C, TunnelState.DISABLED)
        await events.wait_state(LAB_X, TunnelState.DISABLED)
        await app.workers.wait_for_complete()
        assert "Success — Remote Access has been disabled on 2 appliances" in notices
        await pilot.press("escape")  # no filter: esc clears the marks
        assert table.marked == set()


async def test_audit_screen_browses_and_filters_the_audit_log(tmp_path: Path) -> None:
    from tui.screens.audit_screen import AuditScreen
    from widgets.audit_view import AuditView

    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        await app.engine.enable(LAB_C)
        await app.engine.enable(WEB)
        await events.wait_state(WEB, TunnelState.ESTABLISHED)
        await pilot.press("A")
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        view = screen.query_one(AuditView)
        texts = [line.split() for line in view._lines]
        assert [t[2:4] for t in texts[:2]] == [["enable", WEB], ["enable", LAB_C]]
        await pilot.press("slash", *"web-proxy")
        assert view._lines and all(WEB in line for line in view._lines)
        assert "1 of 2 records" in (screen.sub_title or "")
        # records written while the screen is open appear (newest first)
        await app.engine.disable(WEB)
        await pilot.press("enter")
        async with asyncio.timeout(5):
            while "disable" not in view._lines[0]:
                await pilot.pause(0.1)
        await pilot.press("escape")  # clears the filter
        assert len(view._lines) == 3
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)
