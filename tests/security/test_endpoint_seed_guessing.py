"""Seed guessing at the endpoint: anyone with the support CA mints certificates for guesses.

Before: 155 guesses a second, thousands on one connection, one audit line per connection.
Now: at most 6 attempts per connection, every attempt audited with its reason, a growing
delay for new logins after repeated failures (a correct certificate still gets in after
it), a cap on logins in progress and on channels per connection.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncssh
import pytest

from tests.conftest import LAB_C, LAB_C_SERIAL, EngineFactory, RunningLab
from tests.engineer import certificate, login, relay_connection
from tests.recorder import EventRecorder
from tests.security.endpoint_attacker import audit, guesses, try_keys
from tui.engine.engine import Engine
from tui.engine.events import LogRecord
from tui.engine.login_throttle import LoginPolicy
from tui.engine.states import TunnelState

POLICY = LoginPolicy()


async def _enabled(make_engine: EngineFactory) -> tuple[Engine, EventRecorder, str]:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    return engine, events, seed


async def test_one_connection_gets_six_attempts_each_audited_with_its_reason(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    engine, events, seed = await _enabled(make_engine)
    # asyncssh offers each certificate, then its key bare: 20 certificates are 40 attempts
    outcome, _ = await try_keys(lab.info, LAB_C_SERIAL, guesses(lab.info, LAB_C_SERIAL, 20))

    assert outcome == "denied: Too many authentication failures"
    await events.wait_for(lambda e: isinstance(e, LogRecord) and "rejected" in e.message)
    rejected = audit(engine.audit.path, "support-login-rejected")
    assert len(rejected) == 1
    assert (
        rejected[0]["attempts"]
        == [
            "a certificate that does not name this serial and the current seed",
            "a plain key without a support certificate",
        ]
        * 3
    )
    assert rejected[0]["why"] == "a certificate that does not name this serial and the current seed"
    assert seed not in engine.audit.path.read_text()


async def test_repeated_failures_delay_new_logins_but_the_right_seed_gets_in_after(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    _, events, seed = await _enabled(make_engine)
    for _ in range(POLICY.free_failures):
        outcome, took = await try_keys(lab.info, LAB_C_SERIAL, guesses(lab.info, LAB_C_SERIAL, 1))
        assert outcome.startswith("denied") and took < POLICY.first_delay
    outcome, took = await try_keys(lab.info, LAB_C_SERIAL, guesses(lab.info, LAB_C_SERIAL, 1))
    assert outcome.startswith("denied") and took < POLICY.first_delay  # the failure that starts it

    # now every new login waits: first 1 s, then 2 s ...
    outcome, took = await try_keys(lab.info, LAB_C_SERIAL, guesses(lab.info, LAB_C_SERIAL, 1))
    assert outcome.startswith("denied") and took >= POLICY.first_delay * 0.95
    started = time.monotonic()
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    waited = time.monotonic() - started
    assert waited >= 2 * POLICY.first_delay * 0.95
    result = await appliance.run("whoami", check=True)
    assert LAB_C_SERIAL in str(result.stdout)
    appliance.close()
    relay.close()
    await events.wait_state(LAB_C, TunnelState.SERVICE)

    # a success forgives: the next login is immediate again
    outcome, took = await try_keys(
        lab.info, LAB_C_SERIAL, [certificate(lab.info, LAB_C_SERIAL, seed)]
    )
    assert outcome == "in" and took < POLICY.first_delay


async def test_logins_in_progress_are_capped_and_a_flood_is_audited_in_aggregate(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    engine, _, _ = await _enabled(make_engine)
    relay = await relay_connection(lab.info)
    held = []
    try:
        # channels that never speak SSH: each is a login in progress until it goes
        for _ in range(POLICY.max_pending):
            held.append(await relay.open_connection(LAB_C_SERIAL, 22))
        for _ in range(60):
            with pytest.raises(
                asyncssh.ChannelOpenError, match=f"Too many logins to {LAB_C} are in progress"
            ):
                await relay.open_connection(LAB_C_SERIAL, 22)
    finally:
        for _, writer in held:
            writer.close()
        relay.close()
    await engine.shutdown()
    path = engine.audit.path
    full = audit(path, "support-login-rejected")
    summaries = audit(path, "support-login-rejected-summary")
    assert len(full) == 20  # one minute's worth in full, then counted
    assert {r["why"] for r in full} == {"too many logins in progress"}
    counted = sum(s["count"] for s in summaries)
    assert counted >= 40 and all(s["sources"] == {"127.0.0.1": s["count"]} for s in summaries)


async def test_channels_per_connection_are_capped(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    _, _, seed = await _enabled(make_engine)
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    try:
        sessions = [
            await appliance.create_session(asyncssh.SSHClientSession)
            for _ in range(POLICY.max_channels)
        ]
        with pytest.raises(asyncssh.ChannelOpenError, match="At most 10 sessions"):
            await appliance.create_session(asyncssh.SSHClientSession)
        channel, _ = sessions[0]
        channel.close()
        await channel.wait_closed()
        await asyncio.wait_for(appliance.create_session(asyncssh.SSHClientSession), 5)
    finally:
        appliance.close()
        relay.close()
