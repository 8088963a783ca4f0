"""What goes wrong on the way to the relay is named, retried, or stopped for the operator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncssh
import pytest

from tests.conftest import EngineFactory, Established, RunningLab
from tests.engineer import login, relay_connection
from tests.fault_servers import fault_server
from tests.lab_names import LAB_C, LAB_C_RELAY, LAB_C_SERIAL, LAB_X
from tui.engine import resolver
from tui.engine.lab.dns_responder import DnsFault, DnsResponder
from tui.engine.reasons import Reason
from tui.engine.states import TunnelState


async def test_relay_restart_brings_the_agent_back(
    lab: RunningLab, established: Established, tmp_path: Path
) -> None:
    events = established.events
    seed = established.seed
    mark = events.mark

    await lab.lab.restart_relay()

    retrying = await events.wait_state(LAB_C, TunnelState.RETRYING, after=mark)
    assert retrying.reason == Reason.CONNECTION_LOST
    assert retrying.attempt == 1 and retrying.retry_at is not None
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED, after=mark)
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    assert "ENABLED" in str((await appliance.run("status")).stdout)
    appliance.close()
    relay.close()


async def test_a_newer_connection_for_the_serial_takes_the_route_and_the_older_stops(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    engine, events = await make_engine()
    await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    key = asyncssh.read_private_key(engine.state_dir / "keys" / f"{LAB_C}_ed25519")

    # The same appliance key comes in on a new connection while the old one is alive: the
    # relay keeps the newer one and tells the older one why, so the two never take turns.
    mark = events.mark
    newcomer = await asyncssh.connect(
        "127.0.0.1",
        lab.info.relay_ports["443"],
        username=LAB_C_SERIAL,
        client_keys=[key],
        known_hosts=str(lab.info.known_hosts),
        agent_path=None,
        config=None,
    )
    answered: list[str] = []

    async def greet(reader: asyncssh.SSHReader[bytes], writer: asyncssh.SSHWriter[bytes]) -> None:
        answered.append("newcomer")
        writer.write(b"SSH-2.0-newcomer\r\n")
        writer.close()

    await newcomer.start_server(lambda host, port: greet, LAB_C_SERIAL, 22, encoding=None)
    stopped = await events.wait_state(LAB_C, TunnelState.SUPERSEDED, after=mark)
    assert stopped.reason == Reason.SUPERSEDED
    assert "took its route" in stopped.detail
    agent = engine.agent(LAB_C)
    assert agent is not None
    await asyncio.wait_for(agent.wait_stopped(), 5)
    assert events.states(LAB_C)[-1] is TunnelState.SUPERSEDED

    engineer = await relay_connection(lab.info)
    reader, _writer = await engineer.open_connection(LAB_C_SERIAL, 22)
    assert await reader.readline() == b"SSH-2.0-newcomer\r\n"
    assert answered == ["newcomer"]
    engineer.close()
    newcomer.close()
    await newcomer.wait_closed()


async def test_changed_relay_host_key_stops_the_agent(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    lab.info.known_hosts.write_text(f"{LAB_C_RELAY} {impostor.export_public_key().decode()}")
    engine, events = await make_engine()
    await engine.enable(LAB_C)

    stopped = await events.wait_state(LAB_C, TunnelState.HOST_KEY_MISMATCH)
    agent = engine.agent(LAB_C)
    assert agent is not None
    await asyncio.wait_for(agent.wait_stopped(), 5)

    assert stopped.reason == Reason.HOST_KEY_MISMATCH
    assert stopped.fingerprint == lab.info.relay_fingerprint
    assert "different host key" in stopped.detail
    assert TunnelState.RETRYING not in events.states(LAB_C)
    assert not agent.running


async def test_unknown_relay_key_waits_for_an_explicit_accept(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    lab.info.known_hosts.write_text("")
    engine, events = await make_engine()
    await engine.enable(LAB_C)
    unknown = await events.wait_state(LAB_C, TunnelState.HOST_KEY_UNKNOWN)
    assert unknown.fingerprint == lab.info.relay_fingerprint

    pinned = await engine.accept_host_key(LAB_C)

    assert pinned == lab.info.relay_fingerprint
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    assert "c.tunnels.rac.test ssh-ed25519" in lab.info.known_hosts.read_text()
    assert oct(lab.info.known_hosts.stat().st_mode & 0o777) == "0o600"


async def test_nxdomain_is_named(lab: RunningLab, make_engine: EngineFactory) -> None:
    engine, events = await make_engine(lab.inventory_with(domain="nowhere.test"))
    await engine.enable(LAB_C)
    retrying = await events.wait_state(LAB_C, TunnelState.RETRYING)
    assert retrying.reason == Reason.DNS_NXDOMAIN
    assert "c.tunnels.nowhere.test does not exist" in retrying.detail


async def test_servfail_and_silent_dns_are_named(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    broken = DnsResponder({}, {LAB_C_RELAY: DnsFault.SERVFAIL, "x.tunnels.rac.test": DnsFault.DROP})
    nameserver = await broken.start()
    try:
        engine, events = await make_engine(
            lab.inventory_with(nameservers=[nameserver], connect_timeout=0.5)
        )
        await engine.enable(LAB_C)
        await engine.enable(LAB_X)
        servfail = await events.wait_state(LAB_C, TunnelState.RETRYING)
        timeout = await events.wait_state(LAB_X, TunnelState.RETRYING)
    finally:
        broken.close()
    assert servfail.reason == Reason.DNS_SERVFAIL
    assert timeout.reason == Reason.DNS_TIMEOUT


async def test_no_resolver_at_all_is_named(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "resolv.conf"
    empty.write_text("# no nameserver lines\n")
    monkeypatch.setattr(resolver, "SYSTEM_RESOLV_CONF", str(empty))
    engine, events = await make_engine(lab.inventory_with(nameservers=[]))
    await engine.enable(LAB_C)
    retrying = await events.wait_state(LAB_C, TunnelState.RETRYING)
    assert retrying.reason == Reason.DNS_NO_RESOLVER
    assert "No DNS server is configured" in retrying.detail


async def test_smtp_inspection_on_the_port_is_named(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    async with fault_server("smtp") as smtp_port:
        ports = {**lab.info.relay_ports, "25": smtp_port}
        engine, events = await make_engine(lab.inventory_with(port_map=ports))
        await engine.enable(LAB_C)
        retrying = await events.wait_state(LAB_C, TunnelState.RETRYING)
    assert retrying.reason == Reason.NOT_SSH_SMTP
    assert retrying.detail == (
        "Port 25 answers with an SMTP greeting: a firewall is inspecting SMTP. Try port 443."
    )


async def test_fallback_moves_to_the_next_port(lab: RunningLab, make_engine: EngineFactory) -> None:
    async with fault_server("smtp") as smtp_port, fault_server("reset") as reset_port:
        ports = {**lab.info.relay_ports, "25": smtp_port, "53": reset_port}
        engine, events = await make_engine(lab.inventory_with(port_map=ports, fallback=True))
        await engine.enable(LAB_C)
        up = await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    assert up.port == 80
    assert engine.status(LAB_C).port == 80


async def test_port_change_reconnects_on_the_new_port(
    lab: RunningLab, established: Established
) -> None:
    engine, events = established.engine, established.events
    mark = events.mark
    await engine.set_port(LAB_C, 443)
    up = await events.wait_state(LAB_C, TunnelState.ESTABLISHED, after=mark)
    assert up.port == 443
    relay_log = (lab.info.directory / "relay" / "relay-audit.jsonl").read_text()
    ups = [json.loads(line) for line in relay_log.splitlines() if '"agent-up"' in line]
    assert [up["port"] for up in ups] == [lab.info.relay_ports["25"], lab.info.relay_ports["443"]]
