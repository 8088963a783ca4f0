"""A satellite link with a congested hop: 450 ms each way (900 ms round trip) at 64 KiB/s.
The tunnel comes up and an engineer works through it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.chaos_proxy import ChaosProxy
from tests.conftest import LAB_C, LAB_C_SERIAL, EngineFactory, RunningLab
from tests.engineer import login
from tui.engine.events import LogRecord
from tui.engine.states import TunnelState

ONE_WAY = 0.45
BANDWIDTH = 64 * 1024


@pytest.fixture
def relay_settings() -> dict[str, Any]:
    """The relay's defaults: its keepalive is part of what must survive the slow link."""
    return {}


async def test_a_900_ms_64_kib_link_comes_up_and_carries_a_session(
    lab: RunningLab,
    make_engine: EngineFactory,
    proxy: ChaosProxy,
    via_proxy: Callable[..., Path],
    tmp_path: Path,
) -> None:
    proxy.latency = ONE_WAY
    proxy.bandwidth = BANDWIDTH
    # The defaults except the keepalive: a 2 s give-up would be shorter than a round trip
    # plus a queued packet here, so this test runs with the real 15 s / 19 s.
    engine, events = await make_engine(
        via_proxy(connect_timeout=10.0, keepalive_interval=15.0, keepalive_timeout=19.0)
    )
    seed = await engine.enable(LAB_C)
    started = time.monotonic()
    up = await events.wait_state(LAB_C, TunnelState.ESTABLISHED, timeout=60)
    took = time.monotonic() - started
    assert TunnelState.RETRYING not in events.states(LAB_C), [
        r.message for r in events.of_type(LogRecord)
    ]
    assert up.state is TunnelState.ESTABLISHED

    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    try:
        result = await appliance.run("status")
    finally:
        appliance.close()
        relay.close()
    assert "ENABLED" in str(result.stdout)
    assert took > 4 * ONE_WAY * 2  # the link really was slow: several round trips
