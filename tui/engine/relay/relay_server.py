"""The support relay: agents announce their serial, engineers jump through to it.

The relay never sees a support session in clear: an engineer's `direct-tcpip` channel to
`<serial>:22` is joined to a `forwarded-tcpip` channel on that appliance's agent connection,
and the engineer's own SSH session runs end to end inside it (a stock `ssh -J` works).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum

import asyncssh
from asyncssh.channel import SSHTCPChannel
from asyncssh.session import SSHTCPSession

from tui.engine.audit import AuditLog
from tui.engine.channel_bridge import CountingForwarder, as_session, open_forwarded_channel
from tui.engine.heap import freeze_start_up_heap
from tui.engine.keepalive import KeepaliveSettings
from tui.engine.keys import fingerprint
from tui.engine.reachability import CHECK_IDENT
from tui.engine.relay.admission import Admission, Outcome, source_of
from tui.engine.relay.agent_liveness import AgentLiveness
from tui.engine.relay.audit_health import AuditHealthReport
from tui.engine.relay.cluster_node import ClusterNode
from tui.engine.relay.credentials import CredentialCache
from tui.engine.relay.enrolments import SERIAL, Enrolments, valid_serial
from tui.engine.relay.refusal_counters import RefusalCounters
from tui.engine.relay.relay_config import RelayConfig
from tui.engine.relay.routes import Route, RouteListener, RouteTable
from tui.engine.relay.startup_checks import StartupPlan, check_relay_start
from tui.engine.route_notice import DROPPED, REFUSED, RouteNotice
from tui.engine.route_superseded import supersede
from tui.engine.service_port import SERVICE_PORT
from tui.engine.socket_options import tune_liveness
from tui.engine.ssh_options import CHANNEL_MAX_PACKET, CHANNEL_WINDOW, RELAY_ENCRYPTION_ALGS

SERIAL_PATTERN = SERIAL
LOGIN_TIMEOUT_MESSAGE = "Login timeout expired"  # asyncssh's words when login grace runs out

Decision = tuple["Role", str, asyncssh.SSHKey] | None


class Role(StrEnum):
    """Who is on the other end of a relay connection."""

    UNKNOWN = "unknown"
    AGENT = "agent"
    ENGINEER = "engineer"


class _RelayConnection(asyncssh.SSHServer):
    """One connection to the relay: an agent or an engineer, decided by the key that signs."""

    def __init__(self, relay: Relay) -> None:
        self._relay = relay
        self._conn: asyncssh.SSHServerConnection | None = None
        self.peer = ""
        self.username = ""
        self.role = Role.UNKNOWN
        self._pending: Decision = None
        self.local_port = 0
        self.name = ""
        self.source = ""
        self._refused = False
        self._rejected_keys = 0
        self._outcome: Outcome | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        host, port = (conn.get_extra_info("peername") or ("?", 0))[:2]
        self.peer = f"{host}:{port}"
        self.source = source_of(str(host))
        refused = self._relay.admission.admit(self.source)
        if refused is not None:
            # Closed before the banner, as sshd does past MaxStartups: no key exchange cost.
            self._refused = True
            self._relay.refusals.count(self.source, refused)
            conn.abort()
            return
        self._relay.connections.add(conn)
        self.local_port = int((conn.get_extra_info("sockname") or ("", 0))[1])
        tune_liveness(conn.get_extra_info("socket"))

    def begin_auth(self, username: str) -> bool:
        if self.username and username != self.username and self._conn is not None:
            # sshd's rule: one user name per connection, so tries cannot be spread over names.
            self._outcome = Outcome.AUTH_FAILED
            self._conn.disconnect(asyncssh.DISC_PROTOCOL_ERROR, "Change of username not allowed")
        self.username = username
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool | Awaitable[bool]:
        # Called for the key of every attempt; the last one before success is the one that
        # signed, so the role recorded last is the role of the authenticated key.
        decision = self._relay.classify_key(username, key)
        if decision is None or isinstance(decision, tuple):
            return self._decided(decision)
        return self._decided_later(decision)

    async def _decided_later(self, decision: Awaitable[Decision]) -> bool:
        return self._decided(await decision)

    def _decided(self, decision: Decision) -> bool:
        self._pending = decision
        if decision is None:
            self._rejected_keys += 1
            if (
                self._rejected_keys >= self._relay.config.preauth.max_auth_tries
                and self._conn is not None
            ):
                self._outcome = Outcome.TOO_MANY_TRIES
                self._conn.disconnect(
                    asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "Too many authentication failures"
                )
        return decision is not None

    def auth_completed(self) -> None:
        assert self._pending is not None and self._conn is not None
        self.role, self.name, key = self._pending
        self._relay.admission.authenticated(self.source, agent=self.role is Role.AGENT)
        if self.role is Role.AGENT and not self._relay.first_use(self._conn, self.username, key):
            return
        if self.role is Role.AGENT:
            self._relay.liveness.start(self._conn, self.username, self.peer)
        self._relay.audit.write(
            f"{self.role.value}-login",
            user=self.username,
            name=self.name,
            peer=self.peer,
            fingerprint=fingerprint(key),
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        if self._conn is not None:
            self._relay.connections.discard(self._conn)
        if self.role is Role.UNKNOWN:
            outcome = (
                self._outcome
                or checked_reachability(self._conn)
                or (
                    Outcome.GRACE_EXCEEDED
                    if LOGIN_TIMEOUT_MESSAGE in str(exc or "")
                    else Outcome.AUTH_FAILED
                    if self._rejected_keys
                    else Outcome.NO_AUTH
                )
            )
            self._relay.admission.failed(self.source, outcome)
            self._relay.refusals.count(self.source, outcome, self.username)
            return
        if self._conn is not None and self.role is Role.AGENT:
            self._relay.admission.agent_closed(self.source)
            silent = self._relay.liveness.stop(self._conn)
            self._relay.agent_gone(
                self._conn, self.username, "keepalive-timeout" if silent else str(exc or "")
            )

    def session_requested(self) -> bool:
        return False

    def server_requested(
        self,
        listen_host: str,
        listen_port: int,
    ) -> RouteListener | bool | Awaitable[RouteListener | bool]:
        if self.role is not Role.AGENT or self._conn is None or listen_port != SERVICE_PORT:
            return False
        return self._relay.announce(
            self._conn,
            owner=self.username,
            serial=listen_host,
            peer=self.peer,
            port=self.local_port,
        )

    def connection_requested(
        self,
        dest_host: str,
        dest_port: int,
        orig_host: str,
        orig_port: int,
    ) -> tuple[SSHTCPChannel[bytes], Awaitable[SSHTCPSession[bytes]]] | bool:
        if self.role is not Role.ENGINEER or self._conn is None:
            return False
        if dest_port != SERVICE_PORT:
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
                f"Only port {SERVICE_PORT} of an appliance can be reached.",
            )
        route = self._relay.routes.get(dest_host)
        cluster = self._relay.cluster
        if route is None and cluster is not None:
            channel = self._conn.create_tcp_channel(
                window=CHANNEL_WINDOW, max_pktsize=CHANNEL_MAX_PACKET
            )
            return channel, cluster.join_remote(
                dest_host, engineer=self.name or self.username, peer=self.peer
            )
        if route is None:
            self._relay.audit.write(
                "engineer-no-route",
                engineer=self.name or self.username,
                serial=dest_host,
                peer=self.peer,
            )
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_CONNECT_FAILED,
                f"Appliance {dest_host} is not connected to the relay.",
            )
        channel = self._conn.create_tcp_channel(
            window=CHANNEL_WINDOW, max_pktsize=CHANNEL_MAX_PACKET
        )
        return channel, self._relay.join(route, engineer=self.name or self.username, peer=self.peer)


class Relay:
    """The relay server on all its ports."""

    def __init__(
        self,
        config: RelayConfig,
        *,
        clock: Callable[[], float] = time.time,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        # Nothing touches the disk here: `start` checks every path first, then creates.
        self.config = config
        self.routes = RouteTable()
        self.audit = AuditLog(config.path(config.audit_log), clock)
        self.audit_health = AuditHealthReport(self.audit, lambda line: self.log(line))
        self.admission = Admission(config.preauth)
        self.refusals = RefusalCounters(self.audit, config.preauth.audit_interval)
        self.log = log
        self.credentials = CredentialCache(
            config.path(config.agents_dir),
            config.path(config.engineers),
            refresh_every=config.enrolment_refresh,
            log=self._problem,
            on_change=self._enforce,
        )
        self._plan: StartupPlan | None = None
        self._servers: list[asyncssh.SSHAcceptor] = []
        self._flusher: asyncio.Task[None] | None = None
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._agent_keys: dict[asyncssh.SSHServerConnection, tuple[str, bytes]] = {}
        self.ports: list[int] = []
        self.liveness = AgentLiveness(
            KeepaliveSettings.of(config.agent_keepalive_interval, config.agent_keepalive_timeout),
            self.audit,
            config.channel_open_timeout,
        )
        self.cluster: ClusterNode | None = None
        if config.cluster is not None:
            self.cluster = ClusterNode(config.cluster, self)
            self.routes.on_change = self.cluster.route_changed

    @property
    def audit_lines_lost(self) -> int:
        """Audit lines the disk refused since the relay started (said in its log)."""
        return self.audit_health.lost

    @property
    def host_key(self) -> asyncssh.SSHKey:
        """The relay's host key (loaded or made by `start`)."""
        if self._plan is None:
            self._plan = check_relay_start(self.config)
        return self._plan.host_key

    async def start(self) -> list[int]:
        """Check every path, listen on every port, then create what is missing; returns the
        bound ports (0 becomes a free one). A failure leaves nothing behind."""
        plan = self._plan = self._plan or check_relay_start(self.config)
        await self.credentials.start()  # who may log in is known before the first knock
        try:
            for port in self.config.ports:
                server = await asyncssh.listen(
                    self.config.listen,
                    port,
                    server_factory=lambda: _RelayConnection(self),
                    server_host_keys=[plan.host_key],
                    server_version=self.config.version,
                    encryption_algs=RELAY_ENCRYPTION_ALGS,
                    allow_scp=False,
                    agent_forwarding=False,
                    x11_forwarding=False,
                    config=None,
                    reuse_address=True,
                    login_timeout=self.config.preauth.login_grace_time,
                )
                self._servers.append(server)
                self.ports.append(server.get_port())
        except BaseException:
            await self._stop_listening()
            await self.credentials.close()
            raise
        plan.create()
        self._flusher = asyncio.get_running_loop().create_task(
            self._flush_refusals(), name="rac-relay-audit"
        )
        self.audit.write(
            "relay-start",
            listen=self.config.listen,
            ports=self.ports,
            fingerprint=fingerprint(plan.host_key),
        )
        if self.cluster is not None:
            assert plan.peer_key is not None  # checked with every other path
            await self.cluster.start(plan.peer_key)
        freeze_start_up_heap()
        return self.ports

    async def _stop_listening(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        started = bool(self._servers)
        if self.cluster is not None:
            await self.cluster.close()  # entries go first: nobody is sent to a closing node
        for server in self._servers:
            server.close()
        for conn in list(self.connections):
            conn.close()
        for conn in list(self.connections):
            await conn.wait_closed()
        await self._stop_listening()
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if not started:
            return
        await self.credentials.close()
        self.refusals.flush()
        self.audit.write("relay-stop")
        await self.audit_health.close()
        self.audit.close()

    async def _flush_refusals(self) -> None:
        while True:
            await asyncio.sleep(self.config.preauth.audit_interval)
            self.refusals.flush()

    def _problem(self, sentence: str) -> None:
        self.log(f"rac relay: {sentence}")
        self.audit.write("enrolment-problem", problem=sentence)

    # -- who may connect ----------------------------------------------------------------

    def classify_key(self, username: str, key: asyncssh.SSHKey) -> Decision | Awaitable[Decision]:
        """Engineer if the key is an engineer's; agent if it is the serial's enrolled key;
        an unknown serial waits for one look at the agents directory (off the loop)."""
        for engineer in self.credentials.engineers:
            if engineer.key.public_data == key.public_data:
                return Role.ENGINEER, engineer.name or username, key
        if not valid_serial(username):
            return None
        enrolled = self.credentials.agent(username)
        if enrolled is not None:
            if enrolled.key is None or enrolled.key.public_data != key.public_data:
                return None
            return Role.AGENT, username, key
        if self.credentials.bound_or_reserved(username):
            return None  # an SSHACCESS serial is reached through its gateway, never logs in
        if self.config.enroll_on_first_use:
            return Role.AGENT, username, key
        return self._classify_after_refresh(username, key)

    async def _classify_after_refresh(self, username: str, key: asyncssh.SSHKey) -> Decision:
        await self.credentials.refresh_if_changed()
        enrolled = self.credentials.agent(username)
        if enrolled is None or enrolled.key is None or enrolled.key.public_data != key.public_data:
            return None
        return Role.AGENT, username, key

    def first_use(
        self, conn: asyncssh.SSHServerConnection, serial: str, key: asyncssh.SSHKey
    ) -> bool:
        """Remember which key an agent logged in with; in the lab, enrol it on first use.
        False (and the connection closed) if another key claimed the serial meanwhile."""
        if self.credentials.agent(serial) is None:
            if not self.credentials.claim_key(serial, key):
                conn.disconnect(
                    asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE,
                    f"{serial} is enrolled with another key",
                )
                return False
            self.audit.write("agent-enrolled", serial=serial, fingerprint=fingerprint(key))
        self._agent_keys[conn] = (serial, key.public_data)
        return True

    # -- routing ------------------------------------------------------------------------

    def announce(
        self, conn: asyncssh.SSHServerConnection, *, owner: str, serial: str, peer: str, port: int
    ) -> RouteListener | bool | Awaitable[RouteListener | bool]:
        """An agent asks to be reached as `serial`: its own, or an SSHACCESS serial the
        relay bound to it. Anything else is refused, and the agent is told why; a serial
        the relay does not know yet waits for one look at the agents directory first."""
        if (
            valid_serial(serial)
            and not self.credentials.may_announce(owner, serial)
            and not self.config.enroll_on_first_use
        ):
            return self._announce_after_refresh(conn, owner, serial, peer, port)
        return self._route(conn, owner=owner, serial=serial, peer=peer, port=port)

    async def _announce_after_refresh(
        self, conn: asyncssh.SSHServerConnection, owner: str, serial: str, peer: str, port: int
    ) -> RouteListener | bool:
        await self.credentials.refresh_if_changed()
        return self._route(conn, owner=owner, serial=serial, peer=peer, port=port)

    def _route(
        self, conn: asyncssh.SSHServerConnection, *, owner: str, serial: str, peer: str, port: int
    ) -> RouteListener | bool:
        why = self._route_refusal(owner, serial)
        if why:
            self.audit.write("route-refused", owner=owner, serial=serial[:80], peer=peer, why=why)
            shown = serial if valid_serial(serial) else "-"
            conn.send_debug(RouteNotice(REFUSED, shown, why).message())
            return False
        own = serial.lower() == owner.lower()
        route = Route(serial=serial, listen_host=serial, conn=conn, owner=owner)
        previous = self.routes.put(route)
        if previous is not None and previous.conn is not conn:
            self.audit.write(
                "route-takeover",
                serial=serial,
                owner=owner,
                peer=peer,
                previous_owner=previous.owner,
            )
            if previous.owner.lower() == owner.lower():
                supersede(previous.conn)
        self.audit.write(
            "agent-up" if own else "route-up", serial=serial, owner=owner, peer=peer, port=port
        )
        return RouteListener(self.routes, route)

    def _route_refusal(self, owner: str, serial: str) -> str:
        """Why `owner` may not announce `serial` ("" when it may)."""
        if not valid_serial(serial):
            return "the name is not a serial"
        if not self.credentials.may_announce(owner, serial):
            if self.credentials.agent(serial) is not None:
                return f"{serial} is enrolled as an appliance of its own"
            if self.credentials.gateway_of(serial) is not None:
                return f"{serial} is bound to another gateway"
            if not (
                self.config.enroll_on_first_use and self.credentials.claim_binding(serial, owner)
            ):
                return (
                    f"{serial} is not bound to {owner} as its gateway "
                    f"(rac relay enrol {owner} KEYFILE --gateway-for {serial})"
                )
        current = self.routes.get(serial)
        if current is not None and current.owner.lower() != owner.lower():
            return f"{serial} is routed through another appliance"
        return ""

    def _enforce(self, _enrolments: Enrolments) -> None:
        """After the agents directory changed: revoked agents go, unbound routes drop."""
        revoked = set()
        for conn, (serial, public_data) in list(self._agent_keys.items()):
            enrolled = self.credentials.agent(serial)
            if enrolled is None or enrolled.key is None or enrolled.key.public_data != public_data:
                revoked.add(conn)
                self.audit.write("agent-revoked", serial=serial)
                conn.disconnect(
                    asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE,
                    "This appliance's enrolment was revoked at the relay",
                )
        for route in self.routes.all():
            if route.conn in revoked or self.credentials.may_announce(route.owner, route.serial):
                continue
            self.routes.drop(route)
            why = f"{route.serial} is no longer bound to {route.owner} as its gateway"
            self.audit.write("route-dropped", serial=route.serial, owner=route.owner, why=why)
            route.conn.send_debug(RouteNotice(DROPPED, route.serial, why).message())

    def agent_gone(self, conn: asyncssh.SSHServerConnection, owner: str, why: str) -> None:
        """An agent connection closed: its routes go with it (unless already taken over)."""
        self._agent_keys.pop(conn, None)
        for route in self.routes.of_connection(conn):
            self.routes.drop(route)
        self.audit.write("agent-down", serial=owner, why=why)

    async def join(
        self, route: Route, *, engineer: str, peer: str, via: str = ""
    ) -> SSHTCPSession[bytes]:
        """Open the forwarded channel to the appliance and join it to the engineer's
        (`via`: the relay node the engineer came from, over the node-to-node hop)."""
        hop = {"via_node": via} if via else {}
        if via:
            host, _, port = engineer.rpartition(":")
        else:
            host, _, port = peer.rpartition(":")
        try:
            shown = route.owner if route.owner.lower() == route.serial.lower() else route.serial
            opening = open_forwarded_channel(
                route.conn, route.listen_host, SERVICE_PORT, host, int(port or 0)
            )
            appliance_side = await self.liveness.answer_in_time(
                shown, opening, discard=CountingForwarder.close
            )
        except asyncssh.ChannelOpenError as error:
            self.audit.write(
                "engineer-refused",
                engineer=engineer,
                serial=route.serial,
                peer=peer,
                why=error.reason,
                **hop,
            )
            raise
        started = time.monotonic()
        self.audit.write(
            "engineer-session-start", engineer=engineer, serial=route.serial, peer=peer, **hop
        )

        def ended() -> None:
            self.audit.write(
                "engineer-session-end",
                engineer=engineer,
                serial=route.serial,
                peer=peer,
                bytes_to_appliance=engineer_side.received,
                bytes_from_appliance=appliance_side.received,
                duration=round(time.monotonic() - started, 3),
                **hop,
            )

        engineer_side = CountingForwarder(appliance_side, on_close=ended)
        return as_session(engineer_side)


def checked_reachability(conn: asyncssh.SSHServerConnection | None) -> Outcome | None:
    """An agent's reachability check (banner read, identified, closed) is not a failed login."""
    if conn is not None and conn.get_extra_info("client_version") == CHECK_IDENT.decode():
        return Outcome.REACHABILITY_CHECK
    return None
