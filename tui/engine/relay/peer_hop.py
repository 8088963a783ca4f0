"""The node-to-node hop: node A asks node B for `<serial>:22` over SSH, with node keys only.

B listens on its own peer port and accepts only keys listed in `peers_authorized_keys`, each
named by its comment (the node id, which must also be the user name). A checks B's host key
against the same list. B serves a hop only from its local routes and never looks further, so
a hop can never loop. The engineer's own SSH session runs inside the channel end to end:
neither node sees it in clear. A keeps one pooled connection per peer node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol, cast

import asyncssh
from asyncssh.channel import SSHTCPChannel
from asyncssh.session import SSHTCPSession, SSHTCPSessionFactory

from tui.engine.audit import AuditLog
from tui.engine.bounded_files import CONFIG_LIMIT, UnreadableFile, read_bounded_text
from tui.engine.channel_bridge import CountingForwarder
from tui.engine.relay.node_keys import parse_node_keys
from tui.engine.relay.relay_config import RelayConfig
from tui.engine.relay.routes import Route, RouteTable
from tui.engine.reread import parsed
from tui.engine.ssh_options import (
    CHANNEL_MAX_PACKET,
    CHANNEL_WINDOW,
    KEEPALIVE_COUNT_MAX,
    KEEPALIVE_INTERVAL,
    RELAY_ENCRYPTION_ALGS,
)


class Relay(Protocol):
    """What the hop needs of the relay it belongs to (no import of the relay: no cycle)."""

    @property
    def config(self) -> RelayConfig: ...

    @property
    def routes(self) -> RouteTable: ...

    @property
    def audit(self) -> AuditLog: ...

    def join(
        self, route: Route, *, engineer: str, peer: str, via: str = ""
    ) -> Awaitable[SSHTCPSession[bytes]]: ...


SERVICE_PORT = 22
HOP_TIMEOUT = 5.0
PEER_VERSION = "rac-relay-peer_0.1"


def _parse_node_keys(path: Path) -> dict[str, list[asyncssh.SSHKey]]:
    try:
        text = read_bounded_text(path, CONFIG_LIMIT)
    except UnreadableFile:
        return {}  # checked at start; made unreadable since: no node can hop in
    return parse_node_keys(text)[0]


def read_node_keys(path: Path) -> dict[str, list[asyncssh.SSHKey]]:
    """`peers_authorized_keys`: node id (the key's comment) → its public keys."""
    return parsed(path, _parse_node_keys, {})


class _PeerServerConnection(asyncssh.SSHServer):
    """One peer node on our peer port: it may ask only for serials this node holds."""

    def __init__(
        self,
        relay: Relay,
        node_keys: Callable[[], dict[str, list[asyncssh.SSHKey]]],
        audit: AuditLog,
    ) -> None:
        self._relay = relay
        self._node_keys = node_keys
        self._audit = audit
        self._conn: asyncssh.SSHServerConnection | None = None
        self.node = ""
        self.peer = ""
        self.username = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        host, port = (conn.get_extra_info("peername") or ("?", 0))[:2]
        self.peer = f"{host}:{port}"

    def begin_auth(self, username: str) -> bool:
        self.username = username
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        keys = self._node_keys().get(username, [])
        return any(known.public_data == key.public_data for known in keys)

    def auth_completed(self) -> None:
        self.node = self.username
        self._audit.write("peer-login", node=self.node, peer=self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.node:
            self._audit.write("peer-auth-rejected", user=self.username, peer=self.peer)

    def session_requested(self) -> bool:
        return False

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False

    def connection_requested(
        self,
        dest_host: str,
        dest_port: int,
        orig_host: str,
        orig_port: int,
    ) -> tuple[SSHTCPChannel[bytes], Awaitable[SSHTCPSession[bytes]]] | bool:
        if not self.node or self._conn is None:
            return False
        if dest_port != SERVICE_PORT:
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
                f"Only port {SERVICE_PORT} of an appliance can be reached.",
            )
        route = self._relay.routes.get(dest_host)  # local only: a hop never hops again
        if route is None:
            self._audit.write("peer-no-route", node=self.node, serial=dest_host, peer=self.peer)
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_CONNECT_FAILED,
                f"Appliance {dest_host} is not connected to this relay node.",
            )
        channel = self._conn.create_tcp_channel(
            window=CHANNEL_WINDOW, max_pktsize=CHANNEL_MAX_PACKET
        )
        return channel, self._relay.join(
            route, engineer=f"{orig_host}:{orig_port}", peer=self.peer, via=self.node
        )


class PeerListener:
    """This node's peer port."""

    def __init__(
        self, relay: Relay, host: str, port: int, key: asyncssh.SSHKey, authorized: Path
    ) -> None:
        self._relay = relay
        self._host = host
        self._port = port
        self._key = key
        self._authorized = authorized
        self._server: asyncssh.SSHAcceptor | None = None
        self.port = 0

    async def start(self) -> int:
        """Listen; returns the bound port."""
        relay = self._relay
        self._server = await asyncssh.listen(
            self._host,
            self._port,
            server_factory=lambda: _PeerServerConnection(
                relay, lambda: read_node_keys(self._authorized), relay.audit
            ),
            server_host_keys=[self._key],
            server_version=PEER_VERSION,
            encryption_algs=RELAY_ENCRYPTION_ALGS,
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            config=None,
            reuse_address=True,
            keepalive_interval=KEEPALIVE_INTERVAL,
            keepalive_count_max=KEEPALIVE_COUNT_MAX,
        )
        self.port = self._server.get_port()
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


class PeerPool:
    """Connections to peer nodes, one per node, opened on first use and reused."""

    def __init__(self, node_id: str, key: asyncssh.SSHKey, authorized: Path) -> None:
        self._node_id = node_id
        self._key = key
        self._authorized = authorized
        self._connections: dict[str, asyncio.Future[asyncssh.SSHClientConnection]] = {}

    async def open_channel(
        self, node: str, address: str, serial: str, orig_host: str, orig_port: int
    ) -> CountingForwarder:
        """A `direct-tcpip` channel to `serial`:22 on `node`, with a counting forwarder."""
        conn = await self._connection(node, address)
        factory = cast(SSHTCPSessionFactory[bytes], CountingForwarder)
        _, session = await asyncio.wait_for(
            conn.create_connection(
                factory,
                serial,
                SERVICE_PORT,
                orig_host,
                orig_port,
                window=CHANNEL_WINDOW,
                max_pktsize=CHANNEL_MAX_PACKET,
            ),
            HOP_TIMEOUT,
        )
        return cast(CountingForwarder, session)

    async def _connection(self, node: str, address: str) -> asyncssh.SSHClientConnection:
        pending = self._connections.get(node)
        if (
            pending is not None
            and pending.done()
            and (
                pending.cancelled()
                or pending.exception() is not None
                or pending.result().is_closed()
            )
        ):
            pending = None
        if pending is None:
            pending = asyncio.ensure_future(self._connect(node, address))
            self._connections[node] = pending
        try:
            return await asyncio.shield(pending)
        except BaseException:
            if self._connections.get(node) is pending:
                del self._connections[node]
            raise

    async def _connect(self, node: str, address: str) -> asyncssh.SSHClientConnection:
        host, _, port = address.rpartition(":")
        trusted = read_node_keys(self._authorized).get(node, [])
        return await asyncssh.connect(
            host.strip("[]"),
            int(port),
            username=self._node_id,
            client_keys=[self._key],
            known_hosts=(trusted, [], []),
            agent_path=None,
            config=None,
            preferred_auth="publickey",
            encryption_algs=RELAY_ENCRYPTION_ALGS,
            keepalive_interval=KEEPALIVE_INTERVAL,
            keepalive_count_max=KEEPALIVE_COUNT_MAX,
            connect_timeout=HOP_TIMEOUT,
            login_timeout=HOP_TIMEOUT,
        )

    async def close(self) -> None:
        for pending in self._connections.values():
            if pending.done() and not pending.cancelled() and pending.exception() is None:
                pending.result().close()
            else:
                pending.cancel()
        self._connections.clear()
