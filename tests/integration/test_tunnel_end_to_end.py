"""The whole flow through the lab: enable, tunnel up, support in, (SERVICE), disable."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.conftest import EngineFactory, Established, RunningLab
from tests.engineer import login
from tests.lab_names import LAB_C, LAB_C_SERIAL
from tui.engine.events import ServiceEnded, ServiceStarted
from tui.engine.states import TunnelState


async def test_enable_reaches_established_through_every_stage(make_engine: EngineFactory) -> None:
    engine, events = await make_engine()
    await engine.enable(LAB_C)
    up = await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    assert events.states(LAB_C) == [
        TunnelState.RESOLVING,
        TunnelState.CONNECTING,
        TunnelState.HANDSHAKE,
        TunnelState.AUTHENTICATING,
        TunnelState.FORWARDING,
        TunnelState.ESTABLISHED,
    ]
    assert up.port == 25
    assert up.relay_host == "c.tunnels.rac.test"
    assert up.address == "127.0.0.1"
    status = engine.status(LAB_C)
    assert status.enabled and status.state is TunnelState.ESTABLISHED


async def test_support_session_runs_commands_in_the_service_shell(
    lab: RunningLab, established: Established, tmp_path: Path
) -> None:
    events = established.events
    seed = established.seed

    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed, identity="alice")
    status = await appliance.run("status", check=True)
    whoami = await appliance.run("whoami", check=True)
    unknown = await appliance.run("reboot")

    assert "Service Access currently ENABLED (1 current service login)" in str(status.stdout)
    assert "c.tunnels.rac.test on port 25" in str(status.stdout)
    assert f"Serial number: {LAB_C_SERIAL}" in str(status.stdout)
    assert str(whoami.stdout).startswith("alice (user service)")
    assert unknown.exit_status == 127
    assert "Unknown command: reboot" in str(unknown.stdout)
    await events.wait_state(LAB_C, TunnelState.SERVICE)

    appliance.close()
    relay.close()
    ended = await events.wait_for(lambda e: isinstance(e, ServiceEnded))
    assert isinstance(ended, ServiceEnded)
    assert ended.engineer == "alice"
    assert ended.bytes_in > 0 and ended.bytes_out > 0
    started = events.of_type(ServiceStarted)[0]
    assert started.source.startswith("127.0.0.1:")
    assert started.engineer == "alice"
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED, after=events.mark - 1)


async def test_interactive_shell_shows_the_service_prompt(
    lab: RunningLab, established: Established, tmp_path: Path
) -> None:
    seed = established.seed
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    process = await appliance.create_process(term_type="xterm", term_size=(80, 24))
    prompt = await process.stdout.readuntil("(SERVICE)> ")
    assert str(prompt).rstrip().endswith("mail-gw-1 (SERVICE)>")
    process.stdin.write("version\n")
    reply = await process.stdout.readuntil("(SERVICE)> ")
    assert "serial 0C4A1D8E2F61-FCH2143V0AB" in str(reply)
    process.stdin.write("exit\n")
    await asyncio.wait_for(process.wait_closed(), 5)
    assert process.exit_status == 0
    appliance.close()
    relay.close()


async def test_disable_cuts_a_running_session_within_a_second(
    lab: RunningLab, established: Established, tmp_path: Path
) -> None:
    engine, events = established.engine, established.events
    seed = established.seed
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    await events.wait_state(LAB_C, TunnelState.SERVICE)

    await engine.disable(LAB_C)
    await asyncio.wait_for(appliance.wait_closed(), 1.0)

    assert engine.status(LAB_C).state is TunnelState.DISABLED
    assert events.states(LAB_C)[-2:] == [TunnelState.DISABLING, TunnelState.DISABLED]
    assert engine.seed(LAB_C) is None
    relay.close()


async def test_audit_log_records_the_flow_without_the_seed(
    lab: RunningLab, established: Established, tmp_path: Path
) -> None:
    engine, events = established.engine, established.events
    seed = established.seed
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    await appliance.run("status")
    appliance.close()
    relay.close()
    await events.wait_for(lambda e: isinstance(e, ServiceEnded))
    await engine.disable(LAB_C)

    audit = engine.audit.path
    actions = [json.loads(line)["action"] for line in audit.read_text().splitlines()]
    assert actions[0] == "enable"
    assert {"service-start", "service-end", "disable"} <= set(actions)
    assert oct(audit.stat().st_mode & 0o777) == "0o600"
    for path in [audit, lab.info.directory / "relay" / "relay-audit.jsonl"]:
        assert seed not in path.read_text()
    for event in events.events:
        if type(event).__name__ != "SeedIssued":
            assert seed not in repr(event)


async def test_engineers_are_told_why_their_session_ended(
    lab: RunningLab, established: Established, tmp_path: Path
) -> None:
    engine = established.engine
    seed = established.seed
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    process = await appliance.create_process(term_type="xterm")
    await process.stdout.readuntil("(SERVICE)> ")

    await engine.new_seed(LAB_C)

    goodbye = await asyncio.wait_for(process.stdout.read(), 1.0)
    await asyncio.wait_for(process.wait_closed(), 1.0)
    assert "support session ended by the appliance: a new seed is in force" in str(goodbye)
    assert process.exit_status == 255
    relay.close()
