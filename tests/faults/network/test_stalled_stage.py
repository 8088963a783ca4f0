"""An `ssh-timeout` names the stage that stalled, in the engine's own terms: a relay that goes
quiet after its banner fails the SSH stage, one that never answers the login fails AUTH, one
that never answers the forward request fails FORWARD. The stage track, `rac status --json` and
`rac agent --json` all read it from the failure, never from the detail's words."""

from __future__ import annotations

import pytest

from tests.conftest import LAB_C, EngineFactory, RunningLab
from tests.fault_servers import stalling_ssh_server
from tui.engine.events import StateChanged, event_to_json
from tui.engine.reasons import Reason
from tui.engine.stages import Stage
from tui.engine.states import TunnelState
from widgets.stage_track import stage_roles

STALLS = {"kex": Stage.SSH, "auth": Stage.AUTH, "forward": Stage.FORWARD}
SAYS = {
    "kex": "Port 25 connected but the SSH handshake never completed. Try port 443.",
    "auth": "The relay on port 25 finished the SSH handshake but never answered the "
    "appliance's login",
    "forward": "The relay on port 25 accepted the appliance's login but never answered its "
    "forward request",
}


@pytest.mark.parametrize("stall", list(STALLS))
async def test_an_ssh_timeout_fails_the_stage_that_stalled(
    stall: str, lab: RunningLab, make_engine: EngineFactory
) -> None:
    relay = lab.lab.relay
    assert relay is not None
    async with stalling_ssh_server(relay.host_key, stall) as port:
        inventory = lab.inventory_with(
            port_map={**lab.info.relay_ports, "25": port},
            handshake_timeout=0.6,
            handshake_timeout_max=0.6,
        )
        engine, events = await make_engine(inventory)
        await engine.enable(LAB_C)

        retrying = await events.wait_state(LAB_C, TunnelState.RETRYING, timeout=10)

        expected = STALLS[stall]
        assert retrying.reason is Reason.SSH_TIMEOUT
        assert retrying.failed_stage is expected
        assert retrying.detail.startswith(SAYS[stall])
        status = engine.status(LAB_C)
        assert status.failed_stage is expected
        assert status.to_json()["failed_stage"] == expected.label
        assert event_to_json(retrying)["failed_stage"] == expected.label
        roles = dict(stage_roles(status.state, status.failed_stage))
        assert [s for s, role in roles.items() if role == "failed"] == [expected]
        assert all(role == "done" for s, role in roles.items() if s < expected)


async def test_a_failure_at_its_own_stage_carries_that_stage(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    """Every other reason fails at the stage it is declared with; an up tunnel has none."""
    engine, events = await make_engine()
    await engine.enable(LAB_C)
    up = await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    assert up.failed_stage is None
    assert engine.status(LAB_C).to_json()["failed_stage"] == ""
    assert event_to_json(up)["failed_stage"] == ""
    states = [e for e in events.of_type(StateChanged) if e.appliance == LAB_C]
    assert all(e.failed_stage is None for e in states)
