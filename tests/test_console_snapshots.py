"""What the operator sees, one snapshot per screen and state, from the real lab engine.

Deterministic by construction: frozen clock, seeded seed generator, no cursor blink, fixed
terminal size, appliances brought up one after another, notifications cleared. Each SVG was
looked at as a picture before it was accepted (`--snapshot-update`, then open the SVG).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.conftest import LAB_C, LAB_C_SERIAL, LAB_LAN
from tests.console_support import SnapshotLab, recorder_for, settle, snapshot_app
from tests.engineer import login
from tui.app import RacApp
from tui.engine.states import TunnelState

SIZE = (150, 42)
Snap = Callable[..., bool]


async def _up(app: RacApp, name: str, state: TunnelState = TunnelState.ESTABLISHED,
              **enable: Any) -> str:
    events = recorder_for(app)
    seed = await app.engine.enable(name, **enable)
    await events.wait_state(name, state)
    return seed


async def _support_login(app: RacApp, env: SnapshotLab, serial: str, seed: str) -> None:
    assert env.info is not None
    events = recorder_for(app)
    relay, appliance = await login(env.info, env.info.directory, serial, seed, identity="alice")
    await events.wait_for(lambda e: type(e).__name__ == "ServiceIdentified")
    env.cleanups += [appliance.close, relay.close]


async def _ready(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, RacApp)
    app.clear_notifications()
    await settle(pilot)


def _mixed_fleet(env: SnapshotLab) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, RacApp)
        seed = await _up(app, LAB_C, port=443)
        await _support_login(app, env, LAB_C_SERIAL, seed)
        await _up(app, "mgmt-1", port=443)
        await _up(app, LAB_LAN, TunnelState.READY)
        await _up(app, "mail-gw-x", TunnelState.RETRYING)
        await _ready(pilot)

    return run_before


def test_fleet_on_the_lab_all_disabled(snap_compare: Snap) -> None:
    env = SnapshotLab()
    assert snap_compare(snapshot_app(env), terminal_size=SIZE, run_before=_ready)


def test_fleet_with_mixed_states(snap_compare: Snap) -> None:
    env = SnapshotLab(smtp_on_25=True)
    assert snap_compare(snapshot_app(env), terminal_size=SIZE, run_before=_mixed_fleet(env))


def test_fleet_with_mixed_states_light_theme(snap_compare: Snap) -> None:
    env = SnapshotLab(smtp_on_25=True)
    assert snap_compare(snapshot_app(env, theme="rac-light"), terminal_size=SIZE,
                        run_before=_mixed_fleet(env))


def test_fleet_with_mixed_states_high_contrast(snap_compare: Snap) -> None:
    env = SnapshotLab(smtp_on_25=True)
    assert snap_compare(snapshot_app(env, theme="rac-contrast"), terminal_size=SIZE,
                        run_before=_mixed_fleet(env))


def test_fleet_narrow_terminal_keeps_state_and_service(snap_compare: Snap) -> None:
    env = SnapshotLab(smtp_on_25=True)
    assert snap_compare(snapshot_app(env), terminal_size=(60, 20),
                        run_before=_mixed_fleet(env))


def test_dashboard_established(snap_compare: Snap) -> None:
    env = SnapshotLab()

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, RacApp)
        await _up(app, LAB_C)
        await app.open_dashboard(LAB_C)
        await _ready(pilot)

    assert snap_compare(snapshot_app(env), terminal_size=SIZE, run_before=run_before)


def test_dashboard_in_service(snap_compare: Snap) -> None:
    env = SnapshotLab()

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, RacApp)
        seed = await _up(app, LAB_C)
        await _support_login(app, env, LAB_C_SERIAL, seed)
        await app.open_dashboard(LAB_C)
        await _ready(pilot)

    assert snap_compare(snapshot_app(env), terminal_size=SIZE, run_before=run_before)


def test_dashboard_retrying_behind_an_smtp_middlebox(snap_compare: Snap) -> None:
    env = SnapshotLab(smtp_on_25=True)

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, RacApp)
        await _up(app, LAB_C, TunnelState.RETRYING)
        await app.open_dashboard(LAB_C)
        await _ready(pilot)

    assert snap_compare(snapshot_app(env), terminal_size=SIZE, run_before=run_before)


def test_enable_dialogue_generated_seed(snap_compare: Snap) -> None:
    assert snap_compare(snapshot_app(SnapshotLab()), terminal_size=SIZE, press=["e"])


def test_enable_dialogue_entered_seed_breaking_a_rule(snap_compare: Snap) -> None:
    # tab to the seed choice, pick "Enter a random string", type a seed with a space
    assert snap_compare(snapshot_app(SnapshotLab()), terminal_size=SIZE,
                        press=["e", "tab", "down", "enter", *"ab cdefg"])


def test_disable_confirmation(snap_compare: Snap) -> None:
    env = SnapshotLab()

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, RacApp)
        await _up(app, LAB_C)
        await _ready(pilot)

    assert snap_compare(snapshot_app(env), terminal_size=SIZE, press=["d"],
                        run_before=run_before)


def test_help(snap_compare: Snap) -> None:
    assert snap_compare(snapshot_app(SnapshotLab()), terminal_size=SIZE, press=["question_mark"])


def test_snapshot_lab_path_is_fixed() -> None:
    assert Path("/tmp/rac-snapshot-lab").is_absolute()
