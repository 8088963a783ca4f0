"""SSHACCESS through a gateway, resuming after a restart, and the end of an access lifetime."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh
import pytest

from tests.conftest import EngineFactory, RunningLab
from tests.engineer import certificate, login, login_with
from tests.lab_names import LAB_C, LAB_C_SERIAL, LAB_LAN, LAB_LAN_SERIAL, LAB_M
from tui.engine.errors import RacError, UsageError
from tui.engine.events import ServiceEnded
from tui.engine.reasons import Reason
from tui.engine.states import Mode, TunnelState


async def test_sshaccess_appliance_is_reached_through_its_gateway(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    lan_seed = await engine.enable(LAB_LAN)
    waiting = await events.wait_state(LAB_LAN, TunnelState.WAITING_GATEWAY)
    assert waiting.reason == Reason.GATEWAY_DOWN
    assert "mail-gw-1" in waiting.detail

    await engine.enable(LAB_C)
    await events.wait_state(LAB_LAN, TunnelState.READY)

    relay, appliance = await login(lab.info, tmp_path, LAB_LAN_SERIAL, lan_seed)
    process = await appliance.create_process(term_type="xterm")
    prompt = await process.stdout.readuntil("(SERVICE)> ")
    assert str(prompt).rstrip().endswith("mgmt-lan (SERVICE)>")
    process.stdin.write("status\n")
    status = await process.stdout.readuntil("(SERVICE)> ")
    assert "Mode SSHACCESS: reached through mail-gw-1 on port 22" in str(status)
    await events.wait_state(LAB_LAN, TunnelState.SERVICE)
    assert engine.status(LAB_C).state is TunnelState.ESTABLISHED  # the gateway is not in service
    process.stdin.write("exit\n")
    await process.wait_closed()
    appliance.close()
    relay.close()

    mark = events.mark
    await engine.disable(LAB_C)
    await events.wait_state(LAB_LAN, TunnelState.WAITING_GATEWAY, after=mark)


async def test_sshaccess_seed_is_its_own(lab: RunningLab, make_engine: EngineFactory) -> None:
    engine, events = await make_engine()
    gateway_seed = await engine.enable(LAB_C)
    await engine.enable(LAB_LAN)
    await events.wait_state(LAB_LAN, TunnelState.READY)
    with pytest.raises(asyncssh.PermissionDenied):
        await login_with(
            lab.info, LAB_LAN_SERIAL, [certificate(lab.info, LAB_LAN_SERIAL, gateway_seed)]
        )


async def test_a_gateway_must_be_a_tunnel(make_engine: EngineFactory) -> None:
    engine, _ = await make_engine()
    with pytest.raises(UsageError, match="a gateway must be another appliance in TUNNEL mode"):
        await engine.enable(LAB_M, mode=Mode.SSHACCESS, gateway=LAB_LAN)


async def test_restart_resumes_enabled_tunnels(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    first, events = await make_engine()
    seed = await first.enable(LAB_C)
    await first.enable(LAB_LAN)
    await events.wait_state(LAB_LAN, TunnelState.READY)
    await first.shutdown()

    second, again = await make_engine()
    await again.wait_state(LAB_C, TunnelState.ESTABLISHED)
    await again.wait_state(LAB_LAN, TunnelState.READY)
    assert second.seed(LAB_C) == seed
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    appliance.close()
    relay.close()
    assert oct((tmp_path / "state" / "appliances.jsonl").stat().st_mode & 0o777) == "0o600"
    for path in (tmp_path / "state" / "keys").glob("*_ed25519"):
        assert oct(path.stat().st_mode & 0o777) == "0o600"


async def test_lifetime_end_lets_open_sessions_finish(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C, lifetime=1.0)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    await events.wait_for(
        lambda e: "access lifetime ended" in getattr(e, "message", ""), timeout=10
    )

    # the open session runs on...
    assert "ENABLED" in str((await appliance.run("status")).stdout)
    # ...but no new one opens
    with pytest.raises(RacError, match="Remote access has expired on this appliance"):
        await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    assert engine.status(LAB_C).state is TunnelState.SERVICE

    appliance.close()
    relay.close()
    await events.wait_for(lambda e: isinstance(e, ServiceEnded))
    expired = await events.wait_state(LAB_C, TunnelState.EXPIRED)
    assert expired.reason == Reason.EXPIRED
    agent = engine.agent(LAB_C)
    assert agent is not None
    await asyncio.wait_for(agent.wait_stopped(), 5)
    assert engine.seed(LAB_C) is None
