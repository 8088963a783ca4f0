"""The agent's reachability check (banner read, identified, closed) costs its source address
no pre-login penalty at the relay, where a connection that never logs in does: a fleet behind
one address must not lock itself out by checking that the relay is back."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import RunningLab
from tests.faults.network.conftest import RELAY_KEEPALIVE
from tests.faults.network.waiting import until
from tui.engine.reachability import CHECK_IDENT
from tui.engine.relay.relay_config import PreauthLimits

# One login never tried is enough to lock the source out here.
STRICT = PreauthLimits(penalty_noauth=20.0, penalty_min=15.0)


@pytest.fixture
def relay_settings() -> dict[str, Any]:
    """Penalties on, loopback not exempt."""
    return {**RELAY_KEEPALIVE, "preauth": STRICT}


async def _banner_then(lab: RunningLab, said: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", lab.info.relay_ports["25"])
    assert (await reader.readline()).startswith(b"SSH-2.0-")
    writer.write(said)
    writer.close()
    await writer.wait_closed()


async def test_a_reachability_check_costs_no_penalty_a_silent_connection_does(
    lab: RunningLab,
) -> None:
    relay = lab.lab.relay
    assert relay is not None
    for _ in range(5):
        await _banner_then(lab, CHECK_IDENT + b"\r\n")
    await until(lambda: relay.admission.unauthenticated == 0, 5, "the checks are released")
    assert relay.admission.penalty_left("127.0.0.1") == 0

    await _banner_then(lab, b"")
    await until(
        lambda: relay.admission.penalty_left("127.0.0.1") > 0,
        5,
        "a connection that never tried to log in is penalised",
    )
