"""Fixes from a newcomer's run of the console, each reproduced against the real lab."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.conftest import EngineFactory, RunningLab
from tests.console_support import lab_app, recorder_for, settle
from tests.engineer import login
from tests.fault_servers import fault_server
from tests.lab_names import LAB_C, LAB_C_SERIAL, LAB_LAN
from tui.engine.events import StateChanged
from tui.engine.lab.lab import Lab
from tui.engine.states import TunnelState
from tui.screens.fleet_screen import FleetScreen
from tui.screens.probe_screen import ProbeScreen
from widgets.confirm_dialog import ConfirmDialog

SIZE = (140, 40)


async def _support_inside_on_443(pilot, events, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Enable mail-gw-1, move it to 443 and let alice in, as the newcomer did."""
    app = pilot.app
    await app.engine.enable(LAB_C, port=443)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    info = app.environment.info
    relay, appliance = await login(info, tmp_path, LAB_C_SERIAL, str(app.engine.seed(LAB_C)))
    await events.wait_state(LAB_C, TunnelState.SERVICE)
    await settle(pilot)
    return relay, appliance


async def _run_probe(pilot: Pilot[None]) -> ProbeScreen:
    await pilot.press("t")
    screen = pilot.app.screen
    assert isinstance(screen, ProbeScreen)
    await screen.workers.wait_for_complete()
    await pilot.pause()
    assert screen.report is not None
    return screen


async def test_probe_prefers_the_port_in_use_and_enter_leaves_support_alone(
    tmp_path: Path, notices: list[str]
) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        relay, appliance = await _support_inside_on_443(pilot, events, tmp_path)
        screen = await _run_probe(pilot)
        assert screen.report is not None
        assert screen.report.recommended.port == 443
        assert "the port in use" in screen.report.recommended.why
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FleetScreen)
        assert f"{LAB_C} already uses port 443." in notices
        assert app.engine.status(LAB_C).state is TunnelState.SERVICE
        assert not appliance.is_closed()
        appliance.close()
        relay.close()


async def test_probe_enter_asks_before_moving_a_tunnel_with_support_inside(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        relay, appliance = await _support_inside_on_443(pilot, events, tmp_path)
        lab: Lab = app.environment.lab  # type: ignore[attr-defined]
        assert lab.relay is not None
        lab.relay._servers[4].close()  # 443 stops answering; the open tunnel stays up
        screen = await _run_probe(pilot)
        assert screen.report is not None
        assert screen.report.recommended.port == 25
        await pilot.press("enter")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "alice on mail-gw-1" in str(dialog.query_one(".dialog-detail").render())
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("n")
        await pilot.pause()
        assert app.engine.status(LAB_C).port == 443
        assert not appliance.is_closed()

        mark = events.mark
        screen = await _run_probe(pilot)
        await pilot.press("enter", "y")
        await events.wait_for(
            lambda e: (
                isinstance(e, StateChanged)
                and e.appliance == LAB_C
                and e.state is TunnelState.ESTABLISHED
                and e.port == 25
            ),
            after=mark,
        )
        await asyncio.wait_for(appliance.wait_closed(), 5.0)
        relay.close()
        # no stale "ESTABLISHED port 443" after the move began
        moved = [
            e
            for e in events.events[mark:]
            if isinstance(e, StateChanged) and e.appliance == LAB_C and e.state.is_up
        ]
        assert moved and all(e.port == 25 for e in moved)
        await settle(pilot)
        texts = [line.text for line in app.model.views[LAB_C].log]
        after = texts[max(i for i, t in enumerate(texts) if "relay port set to 25" in t) :]
        assert not any("port 443" in t for t in after)


async def test_dashboard_hint_and_probe_recommend_the_same_port_for_an_smtp_fault(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    async with fault_server("smtp") as smtp:
        port_map = {**lab.info.relay_ports, "25": smtp}
        engine, events = await make_engine(lab.inventory_with(port_map=port_map))
        await engine.enable(LAB_C)
        retrying = await events.wait_state(LAB_C, TunnelState.RETRYING)
        assert retrying.reason == "not-ssh:smtp"
        hint = retrying.detail
        report = await engine.probe(LAB_C)
        assert report.recommended.port == 443
        assert "Try port 443." in hint
        await engine.disable(LAB_C)


async def test_sshaccess_behind_a_gateway_that_is_off_waits_for_it(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    await engine.disable(LAB_C)  # the gateway was on once, and is off now
    mark = events.mark
    await engine.enable(LAB_LAN)
    waiting = await events.wait_state(
        LAB_LAN, TunnelState.WAITING_GATEWAY, TunnelState.FORWARDING, after=mark
    )
    assert waiting.state is TunnelState.WAITING_GATEWAY
    assert waiting.detail == f"Waiting for the gateway appliance {LAB_C} to bring its tunnel up."
    assert engine.status(LAB_LAN).state is TunnelState.WAITING_GATEWAY
    await engine.enable(LAB_C)
    await events.wait_state(LAB_LAN, TunnelState.READY, after=mark)
    await engine.disable(LAB_LAN)


async def test_sshaccess_is_never_recorded_or_printed_as_port_25(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.cli import main
    from tui.commands.agent_command import describe_event

    state = tmp_path / "state"
    engine, events = await make_engine(state_dir=state)
    await engine.enable(LAB_C)
    await engine.enable(LAB_LAN)
    await events.wait_state(LAB_LAN, TunnelState.READY)
    await engine.disable(LAB_LAN)
    lan_events = [e for e in events.events if e.appliance == LAB_LAN]
    assert all(" port " not in describe_event(e) for e in lan_events)
    audit = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
    enable = next(a for a in audit if a.get("action") == "enable" and a.get("appliance") == LAB_LAN)
    assert enable.get("port") is None and enable["gateway"] == LAB_C
    await engine.shutdown()
    assert main(["status", "--inventory", str(lab.info.inventory), "--state-dir", str(state)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(LAB_LAN))
    assert "port" not in line and f"via {LAB_C}" in line
    assert (
        main(
            ["status", "--inventory", str(lab.info.inventory), "--state-dir", str(state), "--json"]
        )
        == 0
    )
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["appliances"]}
    assert rows[LAB_LAN]["port"] is None and rows[LAB_C]["port"] == 25


async def _rac(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    import os
    import sys

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_probe_with_inventory_and_ports_uses_the_port_map(lab: RunningLab) -> None:
    code, out, _ = await _rac(
        "probe",
        LAB_C,
        "--inventory",
        str(lab.info.inventory),
        "--ports",
        "25,443",
        "--json",
        "--timeout",
        "2",
    )
    assert code == 0
    ports = json.loads(out)["ports"]
    assert [(p["port"], p["class"]) for p in ports] == [(25, "ssh"), (443, "ssh")]
    assert ports[0]["dialled_port"] == lab.info.relay_ports["25"]


async def test_handshake_fingerprint_is_whole_when_piped(lab: RunningLab) -> None:
    code, out, _ = await _rac(
        "probe",
        LAB_C,
        "--inventory",
        str(lab.info.inventory),
        "--handshake",
        "--timeout",
        "2",
        env={"COLUMNS": "80"},
    )
    assert code == 0
    keys = [line for line in out.splitlines() if line.startswith("key on port")]
    assert len(keys) == 6
    assert all(line.endswith(lab.info.relay_fingerprint) for line in keys)


async def test_agent_without_enable_writes_nothing(lab: RunningLab, tmp_path: Path) -> None:
    state = tmp_path / "agent-state"
    code, _, err = await _rac(
        "agent", "--inventory", str(lab.info.inventory), "--state-dir", str(state)
    )
    assert code == 2 and "Nothing is enabled" in err
    assert not (state / "live.json").exists() and not (state / "audit.jsonl").exists()


async def test_status_without_state_dir_says_where_it_looked(
    lab: RunningLab, tmp_path: Path
) -> None:
    home = {"XDG_STATE_HOME": str(tmp_path / "xdg-state")}
    code, out, err = await _rac("status", "--inventory", str(lab.info.inventory), env=home)
    assert code == 0 and LAB_C in out
    assert "nothing about these appliances in" in err and "--state-dir" in err
    code, _, err = await _rac(
        "status",
        "--inventory",
        str(lab.info.inventory),
        "--state-dir",
        str(lab.info.state_dir),
        env=home,
    )
    assert code == 0 and "nothing about these appliances" not in err


async def test_the_port_dialogue_names_who_is_inside(tmp_path: Path) -> None:
    from widgets.port_dialog import PortDialog

    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        relay, appliance = await _support_inside_on_443(pilot, events, tmp_path)
        await pilot.press("p")
        dialog = app.screen
        assert isinstance(dialog, PortDialog)
        warning = str(dialog.query_one(".dialog-warning").render())
        assert "Support is inside (alice on mail-gw-1): the session ends at once." in warning
        await pilot.press("escape")
        assert not appliance.is_closed()
        appliance.close()
        relay.close()
