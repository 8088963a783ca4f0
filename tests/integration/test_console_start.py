"""The console's start: the first frame is the fleet as listed, honest about the lab not being
up yet ("starting…", verbs wait), and it turns live when the lab is; the footer it shows is
one widget whose keys a click presses."""

from __future__ import annotations

from pathlib import Path

from textual.app import App

from tests.console_support import SnapshotLab, snapshot_app
from tests.lab_names import LAB_C
from tui.engine.lab.lab_fleet import LAB_APPLIANCES
from tui.screens.fleet_screen import FleetScreen
from tui.screens.help_screen import HelpScreen
from widgets.fleet_table import FleetTable
from widgets.rac_footer import RacFooter


async def test_the_first_frame_is_the_fleet_as_listed_until_the_lab_is_up(
    tmp_path: Path, notices: list[str]
) -> None:
    environment = SnapshotLab(tmp_path / "lab", held=True)
    app = snapshot_app(environment)
    # Textual's own run_test: the console's waits for the engine, which is held here.
    async with App.run_test(app, size=(140, 40)) as pilot:
        await pilot.pause()
        assert not app.is_started
        assert isinstance(app.screen, FleetScreen)
        table = app.screen.query_one(FleetTable)
        names = [str(entry["name"]) for entry in LAB_APPLIANCES]
        assert table.shown == names
        rows = [table.row(name) for name in names]
        assert all(row is not None and row.state_text == "starting…" for row in rows)
        assert "starting…" in str(app.screen.title)
        assert {"?", "q", "e"} <= set(app.screen.query_one(RacFooter).shown_keys)

        await pilot.press("e")  # a verb before the engine runs waits, and says so
        assert isinstance(app.screen, FleetScreen)
        assert any("a moment" in notice for notice in notices)

        environment.release.set()
        await app.started.wait()
        await pilot.pause()
        row = table.row(LAB_C)
        assert row is not None and row.state_text == "DISABLED"
        assert "starting…" not in str(app.screen.title)


async def test_a_click_on_a_footer_key_presses_it(tmp_path: Path) -> None:
    app = snapshot_app(SnapshotLab(tmp_path / "lab"))
    async with app.run_test(size=(140, 40)) as pilot:
        footer = app.screen.query_one(RacFooter)
        line = str(footer.render())
        x = line.index(" ? ") + 1
        await pilot.click(RacFooter, offset=(x, 0))
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
