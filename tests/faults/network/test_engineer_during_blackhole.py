"""An engineer who connects while the appliance's path is silent gets a sentence within
10 s, never a silent hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.chaos_proxy import ChaosProxy
from tests.conftest import LAB_C, LAB_C_SERIAL, EngineFactory, RunningLab
from tests.engineer import login
from tests.faults.network.conftest import RELAY_KEEPALIVE
from tui.engine.errors import RacError
from tui.engine.states import TunnelState


@pytest.fixture
def relay_settings() -> dict[str, Any]:
    """Here the relay keeps a silent route long, so the engineer meets it; short open wait."""
    return {**RELAY_KEEPALIVE, "agent_keepalive_timeout": 60.0, "channel_open_timeout": 2.0}


async def test_an_engineer_during_a_blackhole_is_told_the_appliance_is_not_answering(
    lab: RunningLab,
    make_engine: EngineFactory,
    proxy: ChaosProxy,
    via_proxy: Callable[..., Path],
    tmp_path: Path,
) -> None:
    engine, events = await make_engine(via_proxy(keepalive_timeout=60.0))
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    proxy.blackhole()
    started = time.monotonic()

    with pytest.raises(RacError) as refused:
        await asyncio.wait_for(login(lab.info, tmp_path, LAB_C_SERIAL, seed), 10)

    assert time.monotonic() - started < 10
    assert f"Appliance {LAB_C_SERIAL} is not answering" in refused.value.sentence
    assert "try again once the appliance has reconnected" in refused.value.sentence
    proxy.restore()
