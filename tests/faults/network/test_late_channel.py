"""A channel open the relay gave up on (the engineer was told the appliance is not answering)
but the appliance answers late is closed at once on both sides: no stray channel, task or
descriptor stays on the agent until its tunnel closes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from tests.chaos_proxy import ChaosProxy
from tests.conftest import LAB_C, LAB_C_SERIAL, EngineFactory, RunningLab
from tests.engineer import relay_connection
from tests.faults.network.conftest import relay_audit
from tests.faults.network.waiting import until
from tui.engine.keepalive import SSHConnection
from tui.engine.states import TunnelState

OPEN_TIMEOUT = 0.5
LATE = 1.5  # seconds each way while the path is slow: the open reaches the agent after this


@pytest.fixture
def relay_settings() -> dict[str, Any]:
    """A short open wait; keepalive that tolerates the slow path (it is not what is tested)."""
    return {
        "agent_keepalive_interval": 1.0,
        "agent_keepalive_timeout": 10.0,
        "channel_open_timeout": OPEN_TIMEOUT,
    }


def _open_channels(conn: SSHConnection) -> int:
    return len(conn._channels)  # asyncssh's table of a connection's channels (no public count)


def _descriptors() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


async def test_a_channel_the_appliance_opens_too_late_is_closed_on_both_sides(
    lab: RunningLab,
    make_engine: EngineFactory,
    proxy: ChaosProxy,
    via_proxy: Callable[..., Path],
) -> None:
    engine, events = await make_engine(via_proxy(keepalive_timeout=10.0))
    await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    agent = engine.agent(LAB_C)
    assert agent is not None and agent._conn is not None
    agent_side = agent._conn
    relay = lab.lab.relay
    assert relay is not None
    route = relay.routes.get(LAB_C_SERIAL)
    assert route is not None
    relay_side = route.conn
    engineer = await relay_connection(lab.info)
    try:
        steady = (
            _open_channels(agent_side),
            _open_channels(relay_side),
            _descriptors(),
            len(asyncio.all_tasks()),
        )
        proxy.latency = LATE
        with pytest.raises(asyncssh.ChannelOpenError) as refused:
            await engineer.create_connection(asyncssh.SSHTCPSession, LAB_C_SERIAL, 22)
        assert f"Appliance {LAB_C_SERIAL} is not answering" in refused.value.reason
        proxy.latency = 0.0  # the path heals; the open already on its way arrives late

        await until(
            lambda: any(line["action"] == "channel-answered-late" for line in relay_audit(lab)),
            LATE + 5,
            "the relay notices the late answer",
        )
        late = next(line for line in relay_audit(lab) if line["action"] == "channel-answered-late")
        assert late["serial"] == LAB_C_SERIAL and late["waited"] >= OPEN_TIMEOUT

        seen: list[tuple[int, ...]] = []

        def back_to_steady() -> bool:
            seen.append(
                (
                    _open_channels(agent_side),
                    _open_channels(relay_side),
                    _descriptors(),
                    len(asyncio.all_tasks()),
                )
            )
            channels, leftovers = seen[-1][:2], seen[-1][2:]
            # Other work of the process (an enrolment refresh reading a file) may hold a
            # descriptor now and then: what counts is that nothing is left over.
            return channels == steady[:2] and all(
                now <= before for now, before in zip(leftovers, steady[2:], strict=True)
            )

        try:
            await until(back_to_steady, 5, "the late channel is gone on both sides")
        except AssertionError as error:
            raise AssertionError(
                f"{error}: channels (agent, relay), descriptors and tasks were {steady}, "
                f"then {seen[-1]}"
            ) from None
        assert agent._conn is agent_side  # the tunnel itself stayed up
        assert engine.status(LAB_C).state is TunnelState.ESTABLISHED
        assert engine.status(LAB_C).sessions == ()
    finally:
        engineer.close()
        await engineer.wait_closed()
