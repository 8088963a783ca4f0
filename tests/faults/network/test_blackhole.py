"""A path that goes silent (packets stop, sockets stay open): found on both sides within the
keepalive window, an engineer told at once, the tunnel back as soon as the path is."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.chaos_proxy import ChaosProxy
from tests.conftest import LAB_C, LAB_C_SERIAL, EngineFactory, RunningLab
from tests.faults.network.conftest import relay_audit, route_of
from tests.faults.network.waiting import until
from tui.engine.events import LogRecord
from tui.engine.reasons import Reason
from tui.engine.states import TunnelState

# Short settings (conftest): both sides give up after 2 s of silence, swept every 0.1 s.
WINDOW = 2.0
SWEEP = 0.1
# The reachability check runs every 2.5 s ± 40 % and the handshake takes well under 1 s.
BACK_WITHIN = 5.0


async def test_blackhole_is_found_by_agent_and_relay_within_the_window(
    lab: RunningLab, make_engine: EngineFactory, proxy: ChaosProxy, via_proxy: Callable[..., Path]
) -> None:
    engine, events = await make_engine(via_proxy())
    await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    assert route_of(lab, LAB_C_SERIAL) is not None
    mark = events.mark
    started = time.monotonic()

    proxy.blackhole()

    lost = await events.wait_state(LAB_C, TunnelState.RETRYING, after=mark, timeout=10)
    agent_took = time.monotonic() - started
    relay_took = agent_took + await until(
        lambda: route_of(lab, LAB_C_SERIAL) is None, 10, "the relay drops the silent route"
    )
    assert lost.reason == Reason.KEEPALIVE_TIMEOUT
    assert "keepalive-timeout: nothing heard from the relay for 2 s" in [
        record.message for record in events.of_type(LogRecord)
    ]
    assert agent_took <= WINDOW + 3 * SWEEP + 0.5
    assert relay_took <= WINDOW + 3 * SWEEP + 0.5
    down = [e for e in relay_audit(lab) if e["action"] == "agent-down"]
    assert down[-1]["why"] == "keepalive-timeout"
    assert any(e["action"] == "agent-silent" for e in relay_audit(lab))


async def _back_after(
    lab: RunningLab, engine_events: Any, proxy: ChaosProxy, hold_retries: int
) -> tuple[float, Any]:
    """Blackhole until the agent has failed `hold_retries` reconnects, restore, time the
    way back to ESTABLISHED."""
    engine, events = engine_events
    await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    mark = events.mark
    proxy.blackhole()
    retrying = await events.wait_state(LAB_C, TunnelState.RETRYING, after=mark, timeout=10)
    for _ in range(hold_retries):
        retrying = await events.wait_state(
            LAB_C, TunnelState.RETRYING, after=events.mark, timeout=30
        )
    mark = events.mark
    restored = time.monotonic()
    proxy.restore()
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED, after=mark, timeout=30)
    return time.monotonic() - restored, retrying


async def test_back_within_seconds_after_a_short_blackhole(
    lab: RunningLab, make_engine: EngineFactory, proxy: ChaosProxy, via_proxy: Callable[..., Path]
) -> None:
    took, _ = await _back_after(lab, await make_engine(via_proxy()), proxy, hold_retries=0)
    assert took <= BACK_WITHIN


async def test_back_within_seconds_after_a_long_blackhole_whatever_the_backoff(
    lab: RunningLab, make_engine: EngineFactory, proxy: ChaosProxy, via_proxy: Callable[..., Path]
) -> None:
    # A first retry delay of 30 s stands for the backoff a long blackhole grows (60 s cap):
    # the tunnel must not wait it out once the relay answers again.
    engine_events = await make_engine(via_proxy(), first_retry_delay=30.0)
    took, retrying = await _back_after(lab, engine_events, proxy, hold_retries=0)
    assert retrying.retry_at is not None and retrying.retry_at - retrying.ts >= 24
    assert took <= BACK_WITHIN
