"""Two agents for one serial (a cloned machine, a second process): the relay keeps the newer,
tells the older why, and the older stops, so the two never take the route from each other."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from tests.conftest import LAB_C, LAB_C_SERIAL, EngineFactory, RunningLab
from tests.engineer import login
from tests.faults.network.conftest import relay_audit
from tui.engine.reasons import Reason
from tui.engine.states import TunnelState


async def test_the_older_agent_stops_as_superseded_and_the_newer_keeps_the_route(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    older, older_events = await make_engine(state_dir=tmp_path / "first")
    await older.enable(LAB_C)
    await older_events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    # A clone of the same appliance: same serial, same key, its own state.
    (tmp_path / "second").mkdir(mode=0o700)
    shutil.copytree(tmp_path / "first" / "keys", tmp_path / "second" / "keys")
    newer, newer_events = await make_engine(state_dir=tmp_path / "second")
    mark = older_events.mark

    seed = await newer.enable(LAB_C)
    await newer_events.wait_state(LAB_C, TunnelState.ESTABLISHED)

    stopped = await older_events.wait_state(LAB_C, TunnelState.SUPERSEDED, after=mark)
    assert stopped.reason == Reason.SUPERSEDED
    assert "stop the other one" in stopped.detail
    agent = older.agent(LAB_C)
    assert agent is not None
    await asyncio.wait_for(agent.wait_stopped(), 5)
    assert older.status(LAB_C).state is TunnelState.SUPERSEDED
    # The newer one serves support, and nobody took the route back.
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    appliance.close()
    relay.close()
    assert newer.status(LAB_C).state.is_up
    takeovers = [e for e in relay_audit(lab) if e["action"] == "route-takeover"]
    assert len(takeovers) == 1
