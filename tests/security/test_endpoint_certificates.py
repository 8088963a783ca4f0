"""Certificate edge cases at the endpoint.

Before: a certificate with `source-address` gave a traceback in the agent and the wrong audit
reason; a login that began before a new seed, a disable or the end of the lifetime was
admitted after it. Now: source-address is checked against the engineer's address as the relay
reports it, and the seed is read at every attempt and again when the login completes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from tests.conftest import LAB_C, LAB_C_SERIAL, EngineFactory, RunningLab
from tests.engineer import login, relay_connection
from tests.security.endpoint_attacker import audit, try_keys
from tui.engine import service_credentials
from tui.engine.events import LogRecord
from tui.engine.states import TunnelState
from tui.engine.support_ca import principal_matches


def _certificate(lab: RunningLab, seed: str, **options: object) -> tuple[object, object]:
    key = asyncssh.read_private_key(lab.info.engineer_key)
    ca = asyncssh.read_private_key(lab.info.support_ca_key)
    cert = ca.generate_user_certificate(
        key,
        "mallory",
        principals=[f"{LAB_C_SERIAL}:{seed}"],
        **options,  # type: ignore[arg-type]
    )
    return key, cert


@pytest.mark.parametrize(
    ("networks", "admitted", "why"),
    [
        (["127.0.0.1/32"], True, ""),
        (
            ["10.9.0.0/16", "192.0.2.0/24"],
            False,
            "a certificate limited to source-address 10.9.0.0/16, 192.0.2.0/24, used from "
            "127.0.0.1",
        ),
    ],
)
async def test_source_address_is_checked_against_the_address_the_relay_reports(
    lab: RunningLab,
    make_engine: EngineFactory,
    caplog: pytest.LogCaptureFixture,
    networks: list[str],
    admitted: bool,
    why: str,
) -> None:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    caplog.set_level(logging.DEBUG)

    outcome, _ = await try_keys(
        lab.info, LAB_C_SERIAL, [_certificate(lab, seed, source_address=networks)]
    )

    if admitted:
        assert outcome == "in"
        await events.wait_state(LAB_C, TunnelState.SERVICE)
    else:
        assert outcome.startswith("denied")
        await _rejection_logged(events)
        rejected = audit(engine.audit.path, "support-login-rejected")
        assert rejected[0]["why"] == why
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def _rejection_logged(events: object) -> None:
    """The refusal is audited when the connection ends, just after the client hears it."""
    await events.wait_for(  # type: ignore[attr-defined]
        lambda e: (
            isinstance(e, LogRecord)
            and "support login from" in e.message
            and "rejected" in e.message
        )
    )


async def _straddling_login(
    lab: RunningLab, key: tuple[object, object], meanwhile: Callable[[], Awaitable[None]]
) -> str:
    """A login that has begun (user announced) when `meanwhile` runs, and offers its
    certificate only after."""

    class Straddler(asyncssh.SSHClient):
        async def public_key_auth_requested(self) -> Any:
            if self.offered:
                return None
            self.offered = True
            await meanwhile()
            return key

        offered = False

    relay = await relay_connection(lab.info)
    try:
        conn, _ = await asyncssh.create_connection(
            Straddler,
            LAB_C_SERIAL,
            22,
            tunnel=relay,
            username="service",
            client_keys=None,
            known_hosts=None,
            agent_path=None,
            config=None,
            preferred_auth="publickey",
        )
        conn.close()
        return "in"
    except (asyncssh.PermissionDenied, asyncssh.ConnectionLost, asyncssh.DisconnectError):
        return "refused"
    finally:
        relay.close()


async def test_a_login_that_straddles_a_new_seed_is_refused(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)

    async def new_seed() -> None:
        await engine.new_seed(LAB_C)

    assert await _straddling_login(lab, _certificate(lab, seed), new_seed) == "refused"
    await _rejection_logged(events)
    rejected = audit(engine.audit.path, "support-login-rejected")
    # the endpoint ends logins in progress along with the sessions of the old seed
    assert rejected[-1]["why"] == "ended before it completed: a new seed is in force"


async def test_a_login_that_straddles_the_end_of_the_lifetime_is_refused(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C, lifetime=3.0)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    # an engineer already inside keeps the tunnel up past the end (sessions run on)
    relay, inside = await login(lab.info, tmp_path, LAB_C_SERIAL, seed, identity="alice")

    async def lifetime_ends() -> None:
        await events.wait_for(
            lambda e: isinstance(e, LogRecord) and "access lifetime ended" in e.message, timeout=10
        )

    try:
        assert await _straddling_login(lab, _certificate(lab, seed), lifetime_ends) == "refused"
        await _rejection_logged(events)
        rejected = audit(engine.audit.path, "support-login-rejected")
        assert rejected[-1]["why"] == service_credentials.ACCESS_CLOSED
        assert "ENABLED" in str((await inside.run("status")).stdout)  # the old one runs on
    finally:
        inside.close()
        relay.close()


async def test_a_login_that_straddles_a_disable_is_refused(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)

    async def disable() -> None:
        await engine.disable(LAB_C)

    assert await _straddling_login(lab, _certificate(lab, seed), disable) == "refused"
    await asyncio.sleep(0)
    assert not [e for e in events.events if getattr(e, "kind", "") == "service-start"]


def test_seeds_and_principals_are_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hmac

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert principal_matches(f"{LAB_C_SERIAL.lower()}:Seed-Qx7!", LAB_C_SERIAL, "Seed-Qx7!")
    assert not principal_matches(f"{LAB_C_SERIAL}:Seed-Qx7?", LAB_C_SERIAL, "Seed-Qx7!")
    assert (b"Seed-Qx7?", b"Seed-Qx7!") in calls
    assert len(calls) == 4  # serial and seed, each time: no early exit on a wrong serial
