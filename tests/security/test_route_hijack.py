"""Route hijack (issue 8, item 1): an enrolled agent may announce only its own serial and the
SSHACCESS serials the relay bound to it; a route never changes owner; a refused or dropped
route is told to the agent and touches only that appliance."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncssh
import pytest
import tomli_w

from tests.conftest import LAB_C, LAB_C_SERIAL, LAB_LAN, LAB_LAN_SERIAL, EngineFactory, RunningLab
from tests.engineer import relay_connection
from tests.recorder import EventRecorder
from tests.security.relay_rig import DeployedRelay, announce, connect_as, deployed_relay, reach
from tui.engine.engine import Engine
from tui.engine.events import LogRecord
from tui.engine.inventory import load_inventory
from tui.engine.keys import load_or_create_key
from tui.engine.lab.lab import LabInfo
from tui.engine.reasons import Reason
from tui.engine.states import TunnelState

GATEWAY = "0C4A1D8E2F61-FCH2143V0AB"
CHILD = "0C4A1D8E5B13-FCH2205V1QP"
ATTACKER = "00505693A1F4-FCH2031V0M7"
OTHER = "0050569E2C8D-WZP22410H3Q"
UNENROLLED = "0C4A1D8E3A02-FCH1911Z1KX"


def _key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


async def _refused(conn: asyncssh.SSHClientConnection, notices: list[str], name: str) -> str:
    before = len(notices)
    with pytest.raises(asyncssh.ChannelListenError):
        await announce(conn, name, b"attacker\n")
    assert len(notices) > before, f"no notice for {name!r}"
    return notices[-1]


async def test_an_agent_announces_only_its_own_and_bound_serials(tmp_path: Path) -> None:
    engineer, gateway, attacker, other = _key(), _key(), _key(), _key()
    decoy = tmp_path / "relay" / "x.pub"  # `agents/../x.pub`: once an existence oracle
    decoy.parent.mkdir(parents=True)
    decoy.write_bytes(attacker.export_public_key())
    async with deployed_relay(tmp_path / "relay", engineers=[engineer]) as relay:
        await relay.enrol(GATEWAY, gateway, CHILD)
        await relay.enrol(ATTACKER, attacker)
        await relay.enrol(OTHER, other)
        gateway_conn, _ = await connect_as(relay, GATEWAY, [gateway])
        await announce(gateway_conn, GATEWAY, b"gateway\n")
        await announce(gateway_conn, CHILD, b"gateway\n")
        other_conn, _ = await connect_as(relay, OTHER, [other])
        await announce(other_conn, OTHER, b"other\n")

        conn, client = await connect_as(relay, ATTACKER, [attacker])
        await announce(conn, ATTACKER, b"attacker\n")  # its own serial: allowed
        said = {
            name: await _refused(conn, client.notices, name)
            for name in [
                UNENROLLED,
                "127.0.0.1",
                "../x",
                "../y",
                CHILD,
                OTHER,
                GATEWAY,
                "localhost",
                "",
                "a" * 300,
            ]
        }
        assert "not bound to" in said[UNENROLLED]
        assert "is enrolled as an appliance of its own" in said[OTHER]
        assert "is bound to another gateway" in said[CHILD]
        # a path-like name says nothing about the files behind it
        assert said["../x"] == said["../y"] == said["127.0.0.1"]
        assert "the name is not a serial" in said["../x"]

        # the gateway's routes are untouched; nobody answers for the unenrolled serial
        assert await reach(relay, engineer, CHILD) == b"gateway\n"
        assert await reach(relay, engineer, GATEWAY) == b"gateway\n"
        assert await reach(relay, engineer, ATTACKER) == b"attacker\n"
        assert await reach(relay, engineer, OTHER) == b"other\n"
        with pytest.raises(asyncssh.ChannelOpenError):
            await reach(relay, engineer, UNENROLLED)
        conn.close()
        await conn.wait_closed()
        assert await reach(relay, engineer, CHILD) == b"gateway\n"  # still there after
        gateway_conn.close()
        other_conn.close()
    audit = relay.audit.read_text()
    assert audit.count('"action": "route-refused"') == 10
    assert '"action": "route-takeover"' not in audit


async def test_an_sshaccess_serial_cannot_log_in_as_itself(tmp_path: Path) -> None:
    gateway = _key()
    async with deployed_relay(tmp_path / "relay") as relay:
        await relay.enrol(GATEWAY, gateway, CHILD)
        with pytest.raises(asyncssh.PermissionDenied):
            await connect_as(relay, CHILD, [gateway])
        with pytest.raises(asyncssh.PermissionDenied):
            await connect_as(relay, UNENROLLED, [_key()])


def _site(folder: Path, relay: DeployedRelay) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    load_or_create_key(folder / "support_ca", "support CA")
    host = (relay.folder / "relay_host_ed25519.pub").read_text().split()
    (folder / "known_hosts").write_text(f"127.0.0.1 {host[0]} {host[1]}\n")
    path = folder / "inventory.toml"
    path.write_text(
        tomli_w.dumps(
            {
                "relay": {
                    "hosts": {"C": "127.0.0.1", "M": "127.0.0.1"},
                    "ports": [22],
                    "default_port": 22,
                    "port_map": {"22": relay.ports[0]},
                    "support_ca": "support_ca.pub",
                    "known_hosts": "known_hosts",
                    "connect_timeout": 5,
                },
                "appliance": [
                    {"name": "gw", "series": "C", "serial": GATEWAY},
                    {
                        "name": "lan",
                        "series": "M",
                        "serial": CHILD,
                        "mode": "sshaccess",
                        "gateway": "gw",
                    },
                ],
            }
        )
    )
    return path


class _Unretrieved:
    """Task exceptions nobody retrieved (the gateway's agent dying silently)."""

    def __init__(self) -> None:
        self.contexts: list[dict[str, Any]] = []

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.contexts.append(context)


async def test_a_refused_or_dropped_child_leaves_the_gateway_up(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    unretrieved = _Unretrieved()
    loop.set_exception_handler(unretrieved)
    async with deployed_relay(tmp_path / "relay", enrolment_refresh=0.2) as relay:
        state = tmp_path / "state"
        gateway_key = load_or_create_key(state / "keys" / "gw_ed25519", f"{GATEWAY} key")
        await relay.enrol(GATEWAY, gateway_key)  # enrolled, but bound to nothing
        engine = Engine(load_inventory(_site(tmp_path / "site", relay)), state)
        events = EventRecorder()
        engine.subscribe(events)
        await engine.start()
        try:
            await engine.enable("gw")
            await events.wait_state("gw", TunnelState.ESTABLISHED, timeout=60)
            mark = events.mark
            await engine.enable("lan")
            refused = await events.wait_state(
                "lan", TunnelState.WAITING_GATEWAY, after=mark, timeout=60
            )
            while refused.reason != Reason.ROUTE_REFUSED:
                refused = await events.wait_state(
                    "lan", TunnelState.WAITING_GATEWAY, after=events.events.index(refused) + 1
                )
            assert "Ask the vendor to bind it" in refused.detail
            assert engine.status("gw").state is TunnelState.ESTABLISHED
            assert TunnelState.RETRYING not in events.states("gw")[-3:]

            # the vendor binds the child; enabling it again brings it up
            await relay.enrol(GATEWAY, gateway_key, CHILD)
            await engine.disable("lan")
            mark = events.mark
            await engine.enable("lan")
            await events.wait_state("lan", TunnelState.READY, after=mark, timeout=60)

            # the binding is revoked while the route is up: the agent is told, the gateway stays
            mark = events.mark
            code, out, _ = await relay.admin("revoke", CHILD)
            assert code == 0 and "unbound" in out
            dropped = await events.wait_state(
                "lan", TunnelState.WAITING_GATEWAY, after=mark, timeout=60
            )
            assert dropped.reason == Reason.ROUTE_REFUSED
            told = await events.wait_for(
                lambda e: (
                    isinstance(e, LogRecord)
                    and e.appliance == "lan"
                    and "no longer bound" in e.message
                ),
                after=mark,
                timeout=60,
            )
            assert isinstance(told, LogRecord) and "route-refused" in told.message
            assert engine.status("gw").state is TunnelState.ESTABLISHED
        finally:
            await engine.shutdown()
            loop.set_exception_handler(None)
    assert not unretrieved.contexts, unretrieved.contexts


async def test_revoking_an_agent_cuts_it_and_keeps_it_out(tmp_path: Path) -> None:
    key = _key()
    async with deployed_relay(tmp_path / "relay", enrolment_refresh=0.2) as relay:
        await relay.enrol(ATTACKER, key)
        conn, _ = await connect_as(relay, ATTACKER, [key])
        await announce(conn, ATTACKER, b"x")
        code, _, _ = await relay.admin("revoke", ATTACKER)
        assert code == 0
        await asyncio.wait_for(conn.wait_closed(), 10)
        with pytest.raises(asyncssh.PermissionDenied):
            await connect_as(relay, ATTACKER, [key])


async def _lab_agent(
    info: LabInfo,
    serial: str,
    key: asyncssh.SSHKey,
) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        info.relay_host,
        info.relay_ports["22"],
        username=serial,
        client_keys=[key],
        known_hosts=str(info.known_hosts),
        agent_path=None,
        config=None,
    )


async def test_the_lab_never_enrols_a_gateways_child(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    engine, events = await make_engine()
    await engine.enable(LAB_C)
    await engine.enable(LAB_LAN)
    await events.wait_state(LAB_LAN, TunnelState.READY)

    stranger = _key()
    with pytest.raises(asyncssh.PermissionDenied):  # enrolment on first use: not for a child
        await _lab_agent(lab.info, LAB_LAN_SERIAL, stranger)
    conn = await _lab_agent(lab.info, "STRANGER-0001", stranger)  # a new serial: enrolled
    try:
        for name in (LAB_LAN_SERIAL, LAB_C_SERIAL):
            with pytest.raises(asyncssh.ChannelListenError):
                await announce(conn, name, b"stranger\n")
    finally:
        conn.close()
    assert engine.status(LAB_LAN).state is TunnelState.READY
    assert lab.lab.relay is not None
    route = lab.lab.relay.routes.get(LAB_LAN_SERIAL)
    assert route is not None and route.owner.lower() == LAB_C_SERIAL.lower()
    engineer = await relay_connection(lab.info)
    engineer.close()
