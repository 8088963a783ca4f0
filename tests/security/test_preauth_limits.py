"""Pre-authentication limits (issue 8, item 4): a cap on unauthenticated connections in total
and per source, login grace, authentication tries per connection, a growing penalty for
sources that keep failing, and refusals audited as counters, not a line each."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import asyncssh
import pytest

from tests.security.relay_rig import DeployedRelay, announce, connect_as, deployed_relay
from tui.engine.relay.admission import Admission, Outcome, source_of
from tui.engine.relay.relay_config import PreauthLimits, RelayConfig

AGENT = "0C4A1D8E2F61-FCH2143V0AB"


async def _knock(relay: DeployedRelay, source: str) -> tuple[bytes, asyncio.StreamWriter]:
    """Open a TCP connection from `source`; what the relay says first ('' = closed at once)."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", relay.ports[0], local_addr=(source, 0)
    )
    try:
        line = await asyncio.wait_for(reader.readline(), 5)
    except (ConnectionResetError, TimeoutError):
        line = b""
    return line, writer


def _auth_rejected(relay: DeployedRelay) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in relay.audit.read_text().splitlines()]
    return [line for line in lines if line["action"] == "auth-rejected"]


def test_the_defaults_are_those_of_the_issue() -> None:
    limits = RelayConfig().preauth
    assert limits.per_source_max_startups == 64
    assert limits.login_grace_time <= 30
    assert limits.max_auth_tries == 6
    assert limits.penalty_max > limits.penalty_min > 0


async def test_a_flood_from_one_source_does_not_keep_an_agent_out(tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    async with deployed_relay(tmp_path / "relay") as relay:
        await relay.enrol(AGENT, key)
        held: list[asyncio.StreamWriter] = []
        greeted = 0
        try:
            for _ in range(200):
                line, writer = await _knock(relay, "127.0.0.1")
                held.append(writer)
                greeted += line.startswith(b"SSH-2.0-")
            assert greeted == 64  # PerSourceMaxStartups: the rest closed before the banner

            conn, _ = await connect_as(relay, AGENT, [key], source="127.0.0.2")
            await announce(conn, AGENT, b"up")
            conn.close()
        finally:
            for writer in held:
                writer.close()


async def test_unauthenticated_connections_are_capped_in_total(tmp_path: Path) -> None:
    async with deployed_relay(tmp_path / "relay", preauth={"max_startups": 10}) as relay:
        held = []
        try:
            for index in range(10):
                line, writer = await _knock(relay, f"127.0.1.{index + 1}")
                held.append(writer)
                assert line.startswith(b"SSH-2.0-")
            line, writer = await _knock(relay, "127.0.2.1")
            held.append(writer)
            assert line == b""
        finally:
            for writer in held:
                writer.close()


async def test_login_grace_closes_a_silent_connection(tmp_path: Path) -> None:
    async with deployed_relay(tmp_path / "relay", preauth={"login_grace_time": 1.5}) as relay:
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.ports[0])
        started = time.monotonic()
        assert (await reader.readline()).startswith(b"SSH-2.0-")
        writer.write(b"SSH-2.0-slowloris\r\n")
        await asyncio.wait_for(reader.read(), 10)  # returns at EOF: the relay closed it
        took = time.monotonic() - started
        writer.close()
        assert 1.0 <= took < 5.0
    assert _auth_rejected(relay)[0]["grace_exceeded"] == 1


async def test_six_keys_per_connection_at_most(tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    strangers = [asyncssh.generate_private_key("ssh-ed25519") for _ in range(10)]
    async with deployed_relay(tmp_path / "relay") as relay:
        await relay.enrol(AGENT, key)
        with pytest.raises(asyncssh.PermissionDenied, match="Too many authentication failures"):
            await connect_as(relay, AGENT, strangers, source="127.0.3.1")
        with pytest.raises(asyncssh.PermissionDenied):  # the right key, 7th: never tried
            await connect_as(relay, AGENT, [*strangers[:6], key], source="127.0.3.2")
        conn, _ = await connect_as(relay, AGENT, [*strangers[:5], key], source="127.0.3.3")
        conn.close()
    counts = {line["source"]: line for line in _auth_rejected(relay)}
    assert counts["127.0.3.1"]["too_many_tries"] == 1


async def test_a_failing_source_is_penalised_then_let_back(tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    preauth = {"penalty_authfail": 1.5, "penalty_min": 2.5, "penalty_max": 4.0}
    async with deployed_relay(tmp_path / "relay", preauth=preauth) as relay:
        await relay.enrol(AGENT, key)
        for _ in range(2):
            with pytest.raises(asyncssh.PermissionDenied):
                await connect_as(relay, AGENT, [stranger], source="127.0.4.1")
        line, writer = await _knock(relay, "127.0.4.1")
        writer.close()
        assert line == b""  # penalised: closed before the banner
        conn, _ = await connect_as(relay, AGENT, [key], source="127.0.4.2")  # others get in
        conn.close()
        async with asyncio.timeout(10):  # the penalty runs out (3 s) and the source is back
            while True:
                line, writer = await _knock(relay, "127.0.4.1")
                writer.close()
                if line:
                    break
                await asyncio.sleep(0.2)
    assert any(line.get("refused_penalty") for line in _auth_rejected(relay))


async def test_refusals_are_audited_as_one_counter_line(tmp_path: Path) -> None:
    async with deployed_relay(tmp_path / "relay", preauth={"per_source_max_startups": 1}) as relay:
        first, holder = await _knock(relay, "127.0.5.1")
        assert first.startswith(b"SSH-2.0-")
        before = relay.audit.stat().st_size
        for _ in range(500):
            line, writer = await _knock(relay, "127.0.5.1")
            writer.close()
            assert line == b""
        during = relay.audit.stat().st_size - before
        holder.close()
    written = relay.audit.stat().st_size - before
    lines = [line for line in _auth_rejected(relay) if line["source"] == "127.0.5.1"]
    assert during == 0
    assert len(lines) == 1 and lines[0]["refused_source_full"] == 500
    assert written < 1024, written  # was 556 KB: a line per connection


def test_penalties_grow_and_a_fleet_keeps_its_own_budget() -> None:
    now = [1000.0]
    admission = Admission(
        PreauthLimits(penalty_authfail=5, penalty_min=15, penalty_max=60), clock=lambda: now[0]
    )
    nat = source_of("::ffff:192.0.2.7")
    assert nat == "192.0.2.7"
    assert source_of("2001:db8::1") == source_of("2001:db8::ffff") == "2001:db8::/64"
    for expected in (5, 10, 15):
        assert admission.admit(nat) is None
        admission.failed(nat, Outcome.AUTH_FAILED)
        assert admission.penalty_left(nat) == (expected if expected >= 15 else 0)
    assert admission.admit(nat) is Outcome.REFUSED_PENALTY
    now[0] += 15.1
    assert admission.admit(nat) is None  # served its time
    admission.authenticated(nat, agent=True)  # an enrolled agent behind that address
    for _ in range(20):
        assert admission.admit(nat) is None
        admission.failed(nat, Outcome.AUTH_FAILED)
    assert admission.penalty_left(nat) == pytest.approx(60)  # grows to the maximum ...
    assert admission.admit(nat) is None  # ... but the fleet's agents still get in
    admission.authenticated(nat, agent=True)
    assert admission.unauthenticated == 0
