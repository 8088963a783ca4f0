"""What the operator sees of an appliance with two tunnels on two relay nodes."""

from __future__ import annotations

from pathlib import Path

from tests.cluster.conftest import RunningCluster, both_links_up
from tests.conftest import LAB_C
from tests.console_support import recorder_for, settle
from tui.app import RacApp
from tui.environment import EngineOptions, InventoryEnvironment
from tui.screens.dashboard_screen import DashboardScreen
from tui.settings import Settings
from widgets.fleet_table import FleetTable
from widgets.tunnel_panel import TunnelPanel

SIZE = (140, 40)


async def test_the_fleet_says_two_nodes_and_the_dashboard_lists_each(
    cluster: RunningCluster, tmp_path: Path
) -> None:
    app = RacApp(
        InventoryEnvironment(cluster.info.inventory, tmp_path / "state"),
        options=EngineOptions(first_retry_delay=0.2),
        settings=Settings(tmp_path / "settings.toml"),
        blink=False,
    )
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        await app.engine.enable(LAB_C)
        held = await both_links_up(app.engine, events, LAB_C)
        await settle(pilot)
        row = app.screen.query_one(FleetTable).row(LAB_C)
        assert row is not None and row.relay == "2 nodes"

        await pilot.press("enter")
        assert isinstance(app.screen, DashboardScreen) and app.screen.appliance == LAB_C
        await settle(pilot)
        facts = str(app.screen.query_one(TunnelPanel).query_one("#tunnel-facts").render())
        assert f"node 1  {held[0]}  ESTABLISHED" in facts
        assert f"node 2  {held[1]}  ESTABLISHED" in facts
