"""The support relay: agents announce their serial, engineers jump through to it.

The relay never sees a support session in clear: an engineer's `direct-tcpip` channel to
`<serial>:22` is joined to a `forwarded-tcpip` channel on that appliance's agent connection,
and the engineer's own SSH session runs end to end inside it (a stock `ssh -J` works).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import asyncssh
from asyncssh.channel import SSHTCPChannel
from asyncssh.session import SSHTCPSession

from tui.engine.audit import AuditLog
from tui.engine.channel_bridge import CountingForwarder, as_session, open_forwarded_channel
from tui.engine.keys import fingerprint, load_or_create_key
from tui.engine.relay.cluster_node import ClusterNode
from tui.engine.relay.relay_config import RelayConfig
from tui.engine.relay.routes import Route, RouteListener, RouteTable
from tui.engine.reread import parsed
from tui.engine.secure_files import ensure_private_dir
from tui.engine.ssh_options import CHANNEL_MAX_PACKET, CHANNEL_WINDOW, RELAY_ENCRYPTION_ALGS

SERVICE_PORT = 22
SERIAL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$")


class Role(StrEnum):
    """Who is on the other end of a relay connection."""

    UNKNOWN = "unknown"
    AGENT = "agent"
    ENGINEER = "engineer"


@dataclass(frozen=True, slots=True)
class Engineer:
    """A support engineer's key from the authorized_keys file, named by its comment."""

    key: asyncssh.SSHKey
    name: str


def _parse_engineers(path: Path) -> list[Engineer]:
    engineers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        with contextlib.suppress(asyncssh.KeyImportError, ValueError):
            key = asyncssh.import_public_key(line.strip())
            engineers.append(Engineer(key, key.get_comment() or ""))
    return engineers


class _RelayConnection(asyncssh.SSHServer):
    """One connection to the relay: an agent or an engineer, decided by the key that signs."""

    def __init__(self, relay: Relay) -> None:
        self._relay = relay
        self._conn: asyncssh.SSHServerConnection | None = None
        self.peer = ""
        self.username = ""
        self.role = Role.UNKNOWN
        self._pending: tuple[Role, str, asyncssh.SSHKey] | None = None
        self.local_port = 0
        self.name = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._relay.connections.add(conn)
        host, port = (conn.get_extra_info("peername") or ("?", 0))[:2]
        self.peer = f"{host}:{port}"
        self.local_port = int((conn.get_extra_info("sockname") or ("", 0))[1])

    def begin_auth(self, username: str) -> bool:
        self.username = username
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # Called for the key of every attempt; the last one before success is the one that
        # signed, so the role recorded last is the role of the authenticated key.
        decision = self._relay.classify_key(username, key)
        self._pending = decision
        return decision is not None

    def auth_completed(self) -> None:
        assert self._pending is not None
        self.role, self.name, key = self._pending
        if self.role is Role.AGENT:
            self._relay.enrol_if_new(self.username, key)
        self._relay.audit.write(f"{self.role.value}-login", user=self.username,
                                name=self.name, peer=self.peer, fingerprint=fingerprint(key))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._relay.connections.discard(self._conn)
        if self.role is Role.UNKNOWN:
            self._relay.audit.write("auth-rejected", user=self.username, peer=self.peer)
            return
        if self._conn is not None and self.role is Role.AGENT:
            self._relay.agent_gone(self._conn, self.username, str(exc or ""))

    def session_requested(self) -> bool:
        return False

    def server_requested(self, listen_host: str, listen_port: int) -> RouteListener | bool:
        if self.role is not Role.AGENT or self._conn is None or listen_port != SERVICE_PORT:
            return False
        return self._relay.announce(self._conn, owner=self.username, serial=listen_host,
                                    peer=self.peer, port=self.local_port) or False

    def connection_requested(
            self, dest_host: str, dest_port: int, orig_host: str, orig_port: int,
    ) -> tuple[SSHTCPChannel[bytes], Awaitable[SSHTCPSession[bytes]]] | bool:
        if self.role is not Role.ENGINEER or self._conn is None:
            return False
        if dest_port != SERVICE_PORT:
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
                f"Only port {SERVICE_PORT} of an appliance can be reached.")
        route = self._relay.routes.get(dest_host)
        cluster = self._relay.cluster
        if route is None and cluster is not None:
            channel = self._conn.create_tcp_channel(window=CHANNEL_WINDOW,
                                                    max_pktsize=CHANNEL_MAX_PACKET)
            return channel, cluster.join_remote(dest_host, engineer=self.name or self.username,
                                                peer=self.peer)
        if route is None:
            self._relay.audit.write("engineer-no-route", engineer=self.name or self.username,
                                    serial=dest_host, peer=self.peer)
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_CONNECT_FAILED,
                f"Appliance {dest_host} is not connected to the relay.")
        channel = self._conn.create_tcp_channel(window=CHANNEL_WINDOW,
                                                max_pktsize=CHANNEL_MAX_PACKET)
        return channel, self._relay.join(route, engineer=self.name or self.username,
                                         peer=self.peer)


class Relay:
    """The relay server on all its ports."""

    def __init__(self, config: RelayConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.routes = RouteTable()
        self.audit = AuditLog(config.path(config.audit_log), clock)
        self.host_key = load_or_create_key(config.path(config.host_key), "rac relay")
        self._agents_dir = ensure_private_dir(config.path(config.agents_dir))
        self._engineers_path = config.path(config.engineers)
        self._servers: list[asyncssh.SSHAcceptor] = []
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._enrolled: dict[str, tuple[int, asyncssh.SSHKey]] = {}
        self.ports: list[int] = []
        self.cluster: ClusterNode | None = None
        if config.cluster is not None:
            self.cluster = ClusterNode(config.cluster, self)
            self.routes.on_change = self.cluster.route_changed

    async def start(self) -> list[int]:
        """Listen on every configured port; returns the bound ports (0 becomes a free one)."""
        for port in self.config.ports:
            server = await asyncssh.listen(
                self.config.listen, port, server_factory=lambda: _RelayConnection(self),
                server_host_keys=[self.host_key], server_version=self.config.version,
                encryption_algs=RELAY_ENCRYPTION_ALGS, allow_scp=False, agent_forwarding=False,
                x11_forwarding=False, config=None, reuse_address=True)
            self._servers.append(server)
            self.ports.append(server.get_port())
        self.audit.write("relay-start", listen=self.config.listen, ports=self.ports,
                         fingerprint=fingerprint(self.host_key))
        if self.cluster is not None:
            await self.cluster.start()
        return self.ports

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        if self.cluster is not None:
            await self.cluster.close()  # entries go first: nobody is sent to a closing node
        for server in self._servers:
            server.close()
        for conn in list(self.connections):
            conn.close()
        for conn in list(self.connections):
            await conn.wait_closed()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        self.audit.write("relay-stop")
        self.audit.close()

    # -- who may connect ----------------------------------------------------------------

    def _agent_key_path(self, serial: str) -> Path:
        return self._agents_dir / f"{serial.lower()}.pub"

    def enrolled_key(self, serial: str) -> asyncssh.SSHKey | None:
        """The appliance key enrolled for `serial`, if any (kept until its file changes)."""
        path = self._agent_key_path(serial)
        try:
            version = path.stat().st_mtime_ns
        except FileNotFoundError:
            self._enrolled.pop(serial.lower(), None)
            return None
        cached = self._enrolled.get(serial.lower())
        if cached is None or cached[0] != version:
            cached = (version, asyncssh.read_public_key(path))
            self._enrolled[serial.lower()] = cached
        return cached[1]

    def classify_key(self, username: str,
                     key: asyncssh.SSHKey) -> tuple[Role, str, asyncssh.SSHKey] | None:
        """Engineer if the key is an engineer's; agent if it is the serial's enrolled key."""
        engineers: list[Engineer] = parsed(self._engineers_path, _parse_engineers, [])
        for engineer in engineers:
            if engineer.key.public_data == key.public_data:
                return Role.ENGINEER, engineer.name or username, key
        if not SERIAL_PATTERN.match(username):
            return None
        enrolled = self.enrolled_key(username)
        if enrolled is not None:
            return (Role.AGENT, username, key) if enrolled.public_data == key.public_data \
                else None
        if self.config.enroll_on_first_use:
            return Role.AGENT, username, key
        return None

    def enrol_if_new(self, serial: str, key: asyncssh.SSHKey) -> None:
        """First-use enrolment (lab): remember the key that first spoke for `serial`."""
        path = self._agent_key_path(serial)
        if not path.exists():
            path.write_bytes(key.export_public_key())
            self.audit.write("agent-enrolled", serial=serial, fingerprint=fingerprint(key))

    # -- routing ------------------------------------------------------------------------

    def announce(self, conn: asyncssh.SSHServerConnection, *, owner: str, serial: str,
                 peer: str, port: int) -> RouteListener | None:
        """An agent asks to be reached as `serial` (its own, or one behind it)."""
        own = serial.lower() == owner.lower()
        if not own and self.enrolled_key(serial) is not None:
            self.audit.write("route-refused", owner=owner, serial=serial, peer=peer,
                             why="serial belongs to another enrolled appliance")
            return None
        route = Route(serial=serial, listen_host=serial, conn=conn, owner=owner)
        previous = self.routes.put(route)
        if previous is not None and previous.conn is not conn:
            self.audit.write("route-takeover", serial=serial, owner=owner, peer=peer,
                             previous_owner=previous.owner)
            if previous.owner.lower() == owner.lower():
                previous.conn.close()
        self.audit.write("agent-up" if own else "route-up", serial=serial, owner=owner,
                         peer=peer, port=port)
        return RouteListener(self.routes, route)

    def agent_gone(self, conn: asyncssh.SSHServerConnection, owner: str, why: str) -> None:
        """An agent connection closed: its routes go with it (unless already taken over)."""
        for route in self.routes.of_connection(conn):
            self.routes.drop(route)
        self.audit.write("agent-down", serial=owner, why=why)

    async def join(self, route: Route, *, engineer: str, peer: str,
                   via: str = "") -> SSHTCPSession[bytes]:
        """Open the forwarded channel to the appliance and join it to the engineer's
        (`via`: the relay node the engineer came from, over the node-to-node hop)."""
        hop = {"via_node": via} if via else {}
        if via:
            host, _, port = engineer.rpartition(":")
        else:
            host, _, port = peer.rpartition(":")
        try:
            appliance_side = await open_forwarded_channel(
                route.conn, route.listen_host, SERVICE_PORT, host, int(port or 0))
        except asyncssh.ChannelOpenError as error:
            self.audit.write("engineer-refused", engineer=engineer, serial=route.serial,
                             peer=peer, why=error.reason, **hop)
            raise
        started = time.monotonic()
        self.audit.write("engineer-session-start", engineer=engineer, serial=route.serial,
                         peer=peer, **hop)

        def ended() -> None:
            self.audit.write("engineer-session-end", engineer=engineer, serial=route.serial,
                             peer=peer, bytes_to_appliance=engineer_side.received,
                             bytes_from_appliance=appliance_side.received,
                             duration=round(time.monotonic() - started, 3), **hop)

        engineer_side = CountingForwarder(appliance_side, on_close=ended)
        return as_session(engineer_side)

