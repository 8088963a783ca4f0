"""Keyboard flows of the console against the real lab engine (Pilot)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.console_support import (
    CONSOLE_SIZE,
    EnabledConsole,
    enable_first_row,
    lab_app,
    recorder_for,
    settle,
)
from tests.engineer import login
from tests.lab_names import LAB_C, LAB_C_SERIAL, LAB_M
from tui.engine.events import StateChanged
from tui.engine.states import TunnelState
from tui.screens.dashboard_screen import DashboardScreen
from tui.screens.fleet_screen import FleetScreen
from widgets.confirm_dialog import ConfirmDialog
from widgets.enable_dialog import EnableDialog
from widgets.fleet_table import FleetTable
from widgets.quit_dialog import QuitDialog
from widgets.tunnel_panel import TunnelPanel

SIZE = CONSOLE_SIZE


async def test_enable_from_the_fleet_reaches_established(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        assert isinstance(app.screen, FleetScreen)
        await enable_first_row(pilot, events)
        row = app.screen.query_one(FleetTable).row(LAB_C)
        assert row is not None and row.state is TunnelState.ESTABLISHED
        assert row.port == "25"
        assert "1 enabled · 1 up" in str(app.screen.title)


async def test_dashboard_shows_the_tunnel_and_survives_leaving(
    enabled_console: EnabledConsole,
) -> None:
    app = enabled_console.app
    pilot = enabled_console.pilot
    await pilot.press("enter")
    assert isinstance(app.screen, DashboardScreen) and app.screen.appliance == LAB_C
    headline = app.screen.query_one(TunnelPanel).query_one("#tunnel-state")
    assert "ESTABLISHED" in str(headline.render())
    await pilot.press("escape")
    assert isinstance(app.screen, FleetScreen)
    # leaving the dashboard did not touch the tunnel
    assert app.engine.status(LAB_C).state is TunnelState.ESTABLISHED
    agent = app.engine.agent(LAB_C)
    assert agent is not None and agent.running


async def test_port_change_reconnects_on_the_new_port(enabled_console: EnabledConsole) -> None:
    app = enabled_console.app
    pilot = enabled_console.pilot
    events = enabled_console.events
    mark = events.mark
    await pilot.press("p")
    await pilot.press("down", "down", "down", "enter")  # 25 → 53 → 80 → 443
    up = await events.wait_state(LAB_C, TunnelState.ESTABLISHED, after=mark)
    assert up.port == 443
    await settle(pilot)
    row = app.screen.query_one(FleetTable).row(LAB_C)
    assert row is not None and row.port == "443"


async def test_disable_asks_first_and_says_success(
    enabled_console: EnabledConsole, notices: list[str]
) -> None:
    app = enabled_console.app
    pilot = enabled_console.pilot
    events = enabled_console.events
    await pilot.press("d")
    dialog = app.screen
    assert isinstance(dialog, ConfirmDialog)
    assert "Are you sure to disable service access?" in str(
        dialog.query_one(".dialog-question").render()
    )
    assert app.focused is not None and app.focused.id == "no"
    await pilot.press("n")
    assert app.engine.status(LAB_C).enabled
    await pilot.press("d", "y")
    await events.wait_state(LAB_C, TunnelState.DISABLED)
    await app.workers.wait_for_complete()
    await settle(pilot)
    assert "Success — Remote Access has been disabled" in notices
    row = app.screen.query_one(FleetTable).row(LAB_C)
    assert row is not None and row.state is TunnelState.DISABLED


async def test_new_seed_ends_a_running_support_session(
    enabled_console: EnabledConsole, tmp_path: Path
) -> None:
    app = enabled_console.app
    pilot = enabled_console.pilot
    events = enabled_console.events
    seed = enabled_console.seed
    env = app.environment
    assert env.info is not None  # type: ignore[attr-defined]
    relay, appliance = await login(env.info, tmp_path, LAB_C_SERIAL, seed)  # type: ignore[attr-defined]
    await events.wait_state(LAB_C, TunnelState.SERVICE)
    await settle(pilot)
    row = app.screen.query_one(FleetTable).row(LAB_C)
    assert row is not None and row.service_text == "(SERVICE) alice"

    await pilot.press("n")
    assert isinstance(app.screen, ConfirmDialog)
    await pilot.press("y")
    await asyncio.wait_for(appliance.wait_closed(), 1.0)
    relay.close()
    await app.workers.wait_for_complete()
    assert app.engine.seed(LAB_C) != seed


async def test_quit_with_tunnels_up_can_disable_them(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        await enable_first_row(pilot, events)
        await pilot.press("q")
        assert isinstance(app.screen, QuitDialog)
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)
        await pilot.press("q", "d")
        await events.wait_state(LAB_C, TunnelState.DISABLED)
        await app.workers.wait_for_complete()
    journal = (tmp_path / "lab" / "state" / "appliances.jsonl").read_text().splitlines()
    latest = [json.loads(line) for line in journal if LAB_C in line][-1]
    assert latest["enabled"] is False


@pytest.mark.parametrize("key", ["x", "z", "ctrl+x", "f5", "9"])
async def test_unbound_keys_do_nothing(tmp_path: Path, key: str) -> None:
    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, FleetScreen)
        assert not any(s.enabled for s in app.engine.statuses())


async def test_engine_errors_become_a_notice(tmp_path: Path, notices: list[str]) -> None:
    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")  # new seed on a disabled appliance
        await pilot.pause()
        assert any("not enabled" in notice for notice in notices)
        app.call_engine(app.engine.set_port(LAB_C, 8080))
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert any("Port 8080 is not a relay port" in notice for notice in notices)
        assert any("Port 8080" in line.text for line in app.model.fleet_log)


def _state_events(events: list[object]) -> list[StateChanged]:
    return [e for e in events if isinstance(e, StateChanged)]


async def test_log_key_enlarges_the_log_and_f_cycles_its_level(tmp_path: Path) -> None:
    from widgets.log_pane import LogPane

    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        assert isinstance(app.screen.maximized, LogPane)
        await pilot.press("f")
        assert app.screen.query_one(LogPane).minimum.value == "warning"
        await pilot.press("l")
        assert app.screen.maximized is None


async def test_probe_from_the_fleet_applies_the_recommended_port(
    enabled_console: EnabledConsole,
) -> None:
    from tui.screens.probe_screen import ProbeScreen

    app = enabled_console.app
    pilot = enabled_console.pilot
    await pilot.press("t")
    screen = app.screen
    assert isinstance(screen, ProbeScreen)
    await screen.workers.wait_for_complete()
    assert screen.report is not None and screen.report.recommended.port == 25
    assert {p.label for p in screen.report.ports} == {"ssh-ok"}
    assert app.model.views[LAB_C].probe == dict.fromkeys((22, 25, 53, 80, 443, 4766), True)
    await pilot.press("escape")
    assert isinstance(app.screen, FleetScreen)


async def test_enable_again_asks_first(enabled_console: EnabledConsole) -> None:
    app = enabled_console.app
    pilot = enabled_console.pilot
    seed = enabled_console.seed
    await pilot.press("e")
    assert isinstance(app.screen, ConfirmDialog)
    await pilot.press("n")
    assert isinstance(app.screen, FleetScreen)
    assert app.engine.seed(LAB_C) == seed


async def test_mouse_selects_and_double_click_opens(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(FleetTable)
        await pilot.click(FleetTable, offset=(2, 3))  # header is line 0: row 3 is mgmt-1
        assert table.selected == LAB_M
        await pilot.click(FleetTable, offset=(2, 3), times=2)
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and app.screen.appliance == LAB_M


async def test_keys_are_remapped_from_settings(tmp_path: Path) -> None:
    from tui.app import RacApp
    from tui.environment import LabEnvironment
    from tui.settings import Settings

    settings = Settings(tmp_path / "settings.json", keymap={"rac.enable": "E"})
    app = RacApp(LabEnvironment(tmp_path / "lab"), settings=settings, blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        assert isinstance(app.screen, FleetScreen)
        await pilot.press("E")
        assert isinstance(app.screen, EnableDialog)


async def test_theme_choice_persists(tmp_path: Path) -> None:
    from tui.app import RacApp
    from tui.environment import LabEnvironment
    from tui.settings import Settings, load_settings

    path = tmp_path / "settings.json"
    app = RacApp(LabEnvironment(tmp_path / "lab"), settings=Settings(path), blink=False)
    async with app.run_test(size=SIZE):
        app.theme = "rac-light"
    assert load_settings(path).theme == "rac-light"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
