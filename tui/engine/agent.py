"""The tunnel agent of one appliance: resolve, connect, pin, authenticate, forward, keep alive.

It runs as one asyncio task on the caller's loop. Every stage it reaches is reported as a
LinkUpdate; every failure carries a reason and an operator sentence; it never retries past a
host key it cannot trust.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from tui.engine.backoff import FIRST_DELAY, backoff_delay
from tui.engine.events import Level
from tui.engine.handshake_budget import DEFAULT_HANDSHAKE, HandshakeBudget, HandshakeLimits
from tui.engine.http_proxy import ProxyHop, ProxyRoute
from tui.engine.keepalive import DEFAULT_KEEPALIVE, KeepaliveSettings, sweep_for, watch_connection
from tui.engine.pinned_hosts import PinCheck, PinVerdict, check_pin
from tui.engine.port_check import Outcome, check_port, open_ssh_socket, reason_for
from tui.engine.reachability import CHECK_IDENT, ReachabilityChecks
from tui.engine.reasons import Failure, Reason, failure
from tui.engine.resolver import ResolveError, resolve
from tui.engine.route_notice import DROPPED, RouteNotice, parse_notice
from tui.engine.route_superseded import was_superseded
from tui.engine.service_port import SERVICE_PORT
from tui.engine.service_sessions import ServiceSessions
from tui.engine.socket_options import tune_liveness
from tui.engine.ssh_options import CHANNEL_MAX_PACKET, CHANNEL_WINDOW, ENCRYPTION_ALGS
from tui.engine.stages import stage_reached
from tui.engine.states import TunnelState

_ON_A_NODE = frozenset(
    {
        TunnelState.CONNECTING,
        TunnelState.HANDSHAKE,
        TunnelState.AUTHENTICATING,
        TunnelState.FORWARDING,
        TunnelState.ESTABLISHED,
    }
)


@dataclass(frozen=True, slots=True)
class AgentSetup:
    """Everything an agent needs to know about its appliance and its relay."""

    name: str
    serial: str
    relay_host: str
    nameservers: tuple[str, ...]
    ports: tuple[int, ...]
    port_map: dict[str, int]
    fallback: bool
    connect_timeout: float
    client_key: asyncssh.SSHKey
    known_hosts: Path
    proxy: ProxyRoute | None = None
    keepalive: KeepaliveSettings = DEFAULT_KEEPALIVE
    handshake: HandshakeLimits = DEFAULT_HANDSHAKE
    connections: int = 1
    """Tunnels this appliance holds, each to a different relay node (a cluster: 2)."""

    def real_port(self, nominal: int) -> int:
        """The TCP port dialled for a nominal relay port."""
        return self.port_map.get(str(nominal), nominal)


@dataclass(frozen=True, slots=True)
class LinkUpdate:
    """A stage the agent reached, with what the operator needs to see about it."""

    state: TunnelState
    port: int
    failure: Failure | None = None
    address: str = ""
    attempt: int = 0
    retry_at: float | None = None
    fingerprint: str = ""


class AttemptFailed(Exception):
    """One connection attempt failed for a reason."""

    def __init__(self, why: Failure) -> None:
        super().__init__(why.reason.value)
        self.failure = why


class _AgentClient(asyncssh.SSHClient):
    """Checks the relay's host key against the pin and reports the auth stage."""

    def __init__(self, agent: TunnelAgent) -> None:
        self._agent = agent
        self.pin: PinCheck | None = None
        self.presented: asyncssh.SSHKey | None = None
        self.lost: Exception | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.presented = key
        self.pin = check_pin(self._agent.setup.known_hosts, self._agent.setup.relay_host, key)
        return self.pin.verdict is PinVerdict.TRUSTED

    def begin_auth(self, username: str) -> None:
        self._agent.stage(TunnelState.AUTHENTICATING)

    def debug_msg_received(self, msg: str, lang: str, always_display: bool) -> None:
        notice = parse_notice(msg)
        if notice is not None:
            self._agent.route_notice(notice)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc


class TunnelAgent:
    """Keeps one appliance's tunnel up and routes support channels to its service sessions."""

    def __init__(
        self,
        setup: AgentSetup,
        sessions: ServiceSessions,
        *,
        port: int,
        rng: random.Random,
        clock: Callable[[], float],
        timer: Callable[[], float] = time.perf_counter,
        first_retry_delay: float = FIRST_DELAY,
        gate: asyncio.Semaphore | None = None,
        checks: ReachabilityChecks | None = None,
        report: Callable[[LinkUpdate], None],
        log: Callable[[Level, str], None],
        on_route: Callable[[str, bool, Failure | None], None],
        slot: int = 0,
        avoid: Callable[[], set[str]] | None = None,
    ) -> None:
        self.setup = setup
        self.slot = slot
        """Which of the appliance's tunnels this is (0: the first)."""
        self._avoid = avoid
        self.port = port
        self.presented_key: asyncssh.SSHKey | None = None
        self._rng = rng
        self._first_retry_delay = first_retry_delay
        self._gate = gate or asyncio.Semaphore(1)
        self._clock = clock
        self._timer = timer
        """Measures how long a stage took (the engine's: frozen in the snapshots)."""
        self._report = report
        self._log = log
        self._on_route = on_route
        self._routes: dict[str, ServiceSessions] = {setup.serial: sessions}
        self._listeners: dict[str, asyncssh.SSHListener] = {}
        self._notices: dict[str, str] = {}
        self._conn: asyncssh.SSHClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._current = LinkUpdate(TunnelState.DISABLED, port)
        self._attempt = 0
        self._checks = checks
        self._budget = HandshakeBudget(setup.handshake)
        # Whether the relay said anything (its SSH banner) in the last attempt: if not, the
        # path was down and a reachability check may end the backoff early.
        self._relay_spoke = False
        self._stage_since: tuple[TunnelState, float] = (TunnelState.DISABLED, 0.0)

    @property
    def running(self) -> bool:
        """The agent task is alive (connecting, up or waiting to retry)."""
        return self._task is not None and not self._task.done()

    @property
    def node_address(self) -> str:
        """The relay node address this tunnel is on or connecting to ('' otherwise)."""
        return self._current.address if self._current.state in _ON_A_NODE else ""

    @property
    def connected(self) -> bool:
        """The forward is up at the relay."""
        return self._current.state is TunnelState.ESTABLISHED

    async def wait_stopped(self) -> None:
        """Return once the agent task has ended by itself (operator needed, or stopped)."""
        if self._task is not None:
            await asyncio.wait({self._task})

    def start(self) -> None:
        """Begin connecting (no-op if already running)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"rac-agent-{self.setup.name}"
            )

    async def stop(self) -> None:
        """Cut the tunnel and stop; the caller reports what state that leaves."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_connection()
        # Not reported (the caller says what state this leaves), but no longer connected:
        # a rider enabled later must not wait for a forward that is gone.
        self._current = LinkUpdate(TunnelState.DISABLED, self.port)

    async def restart(self, port: int | None = None) -> None:
        """Reconnect now, on `port` if given (a port change or an accepted host key)."""
        await self.stop()
        if port is not None:
            self.port = port
        self.start()

    def stage(self, state: TunnelState) -> None:
        """Report reaching a connection stage."""
        self._stage_since = (state, self._timer())
        current = self._current  # built directly: dataclasses.replace costs four times more
        self._publish(
            LinkUpdate(state, current.port, address=current.address, attempt=current.attempt)
        )

    def announce(self, serial: str, sessions: ServiceSessions) -> None:
        """Also route `serial` (an SSHACCESS appliance behind this one) through this tunnel."""
        self._routes[serial] = sessions
        if self._conn is not None and self.connected:
            asyncio.get_running_loop().create_task(self._open_route(self._conn, serial))
        else:
            self._on_route(serial, False, None)

    def withdraw(self, serial: str) -> None:
        """Stop routing `serial`."""
        self._routes.pop(serial, None)
        listener = self._listeners.pop(serial, None)
        if listener is not None:
            listener.close()

    def route_notice(self, notice: RouteNotice) -> None:
        """The relay said why it refused or dropped a route (a debug message)."""
        self._notices[notice.serial] = notice.why
        if notice.kind != DROPPED or notice.serial == self.setup.serial.lower():
            return
        for serial in [s for s in self._listeners if s.lower() == notice.serial]:
            self._listeners.pop(serial).close()
            self._log(Level.ERROR, f"the relay dropped the route for {serial}: {notice.why}")
            self._on_route(serial, False, self._route_refused(serial))

    def _route_refused(self, serial: str, error: Exception | None = None) -> Failure:
        why = self._notices.pop(serial.lower(), "") or str(error or "")
        return failure(Reason.ROUTE_REFUSED, host=self.setup.relay_host, port=self.port, detail=why)

    def _publish(self, update: LinkUpdate) -> None:
        self._current = update
        self._report(update)

    async def _run(self) -> None:
        self._attempt = 0
        try:
            while True:
                why, lived = await self._try_ports()
                if lived:
                    self._attempt = 0
                if why.reason in (Reason.HOST_KEY_UNKNOWN, Reason.HOST_KEY_MISMATCH):
                    state = (
                        TunnelState.HOST_KEY_UNKNOWN
                        if why.reason is Reason.HOST_KEY_UNKNOWN
                        else TunnelState.HOST_KEY_MISMATCH
                    )
                    fingerprint = (
                        self.presented_key.get_fingerprint("sha256") if self.presented_key else ""
                    )
                    self._publish(
                        LinkUpdate(
                            state, self.port, why, attempt=self._attempt, fingerprint=fingerprint
                        )
                    )
                    return
                if why.reason is Reason.SUPERSEDED:
                    self._publish(
                        LinkUpdate(TunnelState.SUPERSEDED, self.port, why, attempt=self._attempt)
                    )
                    return
                self._attempt += 1
                delay = backoff_delay(
                    self._attempt,
                    self._rng,
                    first=self._first_retry_delay,
                    full_jitter=self.setup.connections > 1,
                )
                self._publish(
                    LinkUpdate(
                        TunnelState.RETRYING,
                        self.port,
                        why,
                        address=self._current.address,
                        attempt=self._attempt,
                        retry_at=self._clock() + delay,
                    )
                )
                await self._wait_to_retry(delay)
        finally:
            await self._close_connection()

    async def _wait_to_retry(self, delay: float) -> None:
        """The backoff; cut short when the relay answers again after a path failure."""
        if self._checks is None or self._relay_spoke:
            await asyncio.sleep(delay)
            return
        port = self.port
        target = (self.setup.relay_host, self.setup.proxy, self.setup.real_port(port))
        if await self._checks.wait(target, lambda: self._relay_answers(port), delay):
            self._log(Level.INFO, "the relay answers again: reconnecting now")

    async def _relay_answers(self, port: int) -> bool:
        """Resolve, connect and read the SSH banner: the relay is back (no handshake)."""
        setup = self.setup
        name = setup.proxy.host if setup.proxy else setup.relay_host
        try:
            resolution = await resolve(
                name, setup.nameservers, timeout=setup.connect_timeout, shared=True
            )
        except ResolveError:
            return False
        for address in resolution.addresses:
            hop = ProxyHop(address, setup.proxy, setup.relay_host) if setup.proxy else None
            answer = await check_port(
                address,
                setup.real_port(port),
                nudge=False,
                keep_ssh_socket=True,
                timeout=setup.connect_timeout,
                via=hop,
            )
            if answer.sock is not None:
                with contextlib.suppress(OSError):
                    answer.sock.send(CHECK_IDENT + b"\r\n")
                answer.close()
            if answer.outcome is Outcome.SSH:
                return True
        return False

    def _port_order(self) -> list[int]:
        if not self.setup.fallback:
            return [self.port]
        ports = list(self.setup.ports)
        start = ports.index(self.port) if self.port in ports else 0
        return ports[start:] + ports[:start]

    async def _try_ports(self) -> tuple[Failure, bool]:
        """Connect on the port, or the next ones with fallback; hold the tunnel while it lives."""
        first: Failure | None = None
        for port in self._port_order():
            try:
                async with self._gate:
                    conn, client = await self._connect(port)
            except AttemptFailed as error:
                first = first or error.failure
                if self.setup.fallback and error.failure.reason.blocked_port:
                    self._log(
                        Level.WARNING, f"port {port}: {error.failure.reason}; trying the next port"
                    )
                    continue
                return error.failure, False
            if port != self.port:
                self._log(Level.INFO, f"port fallback: using port {port}")
                self.port = port
            lost = await self._hold(conn, client)
            self._relay_spoke = False  # an established tunnel that died lost its path
            return lost, True
        assert first is not None
        return first, False

    async def _connect(self, port: int) -> tuple[asyncssh.SSHClientConnection, _AgentClient]:
        setup = self.setup
        self._relay_spoke = False
        self._publish(LinkUpdate(TunnelState.RESOLVING, port, attempt=self._attempt))
        # Through a proxy, the appliance resolves the proxy; the proxy resolves the relay.
        name = setup.proxy.host if setup.proxy else setup.relay_host
        try:
            resolution = await resolve(
                name, setup.nameservers, timeout=setup.connect_timeout, shared=True
            )
        except ResolveError as error:
            raise AttemptFailed(
                failure(error.reason, host=name, port=port, detail=f"resolver {error.resolver}")
            ) from None
        self._log(
            Level.DEBUG,
            f"{name} is {', '.join(resolution.addresses)} "
            f"(resolver {resolution.resolver}, {resolution.elapsed_ms:.0f} ms)",
        )
        failures: list[Failure] = []
        for address in self._node_order(resolution.addresses, port):
            hop = ProxyHop(address, setup.proxy, setup.relay_host) if setup.proxy else None
            where = f"proxy {address}:{setup.proxy.port}" if setup.proxy else address
            self._publish(
                LinkUpdate(TunnelState.CONNECTING, port, address=where, attempt=self._attempt)
            )
            answer = await open_ssh_socket(
                address, setup.real_port(port), timeout=setup.connect_timeout, via=hop
            )
            if answer.sock is None:
                seen = f"first bytes: {answer.shown}" if answer.shown else answer.outcome.value
                failures.append(
                    failure(
                        reason_for(answer),
                        host=setup.relay_host,
                        port=port,
                        detail=f"{where}: {seen}",
                    )
                )
                continue
            if answer.outcome is Outcome.SSH:
                self._relay_spoke = True
                self._log(
                    Level.DEBUG,
                    f"{address} port {port} says {answer.shown} "
                    f"(connect {answer.connect_ms or 0:.0f} ms, banner "
                    f"{answer.first_byte_ms or 0:.0f} ms)",
                )
            tune_liveness(answer.sock)
            self.stage(TunnelState.HANDSHAKE)
            banner = answer.first_byte_ms / 1000 if answer.first_byte_ms else None
            try:
                return await self._ssh(answer.sock, port, self._budget.for_attempt(banner))
            except AttemptFailed as error:
                if error.failure.reason in (Reason.HOST_KEY_UNKNOWN, Reason.HOST_KEY_MISMATCH):
                    raise
                failures.append(error.failure)
        raise AttemptFailed(failures[0])

    def _node_order(self, addresses: list[str], port: int) -> list[str]:
        """With several tunnels, each goes to a node the others are not on; tunnel k starts
        at its own offset (from the serial) so a fleet's tunnels spread over the nodes."""
        if self._avoid is None:
            return list(addresses)
        taken = self._avoid()
        free = [address for address in addresses if address not in taken]
        if not free:
            raise AttemptFailed(
                failure(
                    Reason.NO_OTHER_NODE,
                    host=self.setup.relay_host,
                    port=port,
                    detail=", ".join(addresses),
                )
            )
        start = (zlib.crc32(self.setup.serial.encode()) + self.slot) % len(free)
        return free[start:] + free[:start]

    async def _ssh(
        self, sock: socket.socket, port: int, budget: float
    ) -> tuple[asyncssh.SSHClientConnection, _AgentClient]:
        """Handshake, log in and request the forward, all within `budget` seconds."""
        try:
            async with asyncio.timeout(budget):
                return await self._handshake(sock, port)
        except TimeoutError:
            sock.close()
            self._budget.timed_out()
            state, since = self._stage_since
            slow = self._timer() - since
            raise AttemptFailed(
                failure(
                    Reason.SSH_TIMEOUT,
                    host=self.setup.relay_host,
                    port=port,
                    detail=f"no progress in {state} for {slow:.1f} s (handshake budget "
                    f"{budget:.0f} s; the next attempt gets "
                    f"{self._budget.for_attempt(None):.0f} s or more)",
                    stalled_at=stage_reached(state),
                )
            ) from None

    async def _handshake(
        self, sock: socket.socket, port: int
    ) -> tuple[asyncssh.SSHClientConnection, _AgentClient]:
        setup = self.setup
        host = setup.relay_host
        client = _AgentClient(self)
        try:
            # Liveness is the sweep's (keepalive.py): asyncssh's own keepalive stays off.
            # The handshake budget (`_ssh`, at most its ceiling) bounds the login too:
            # asyncssh's own login timer would be a second timer per tunnel for nothing.
            conn = await asyncssh.connect(
                host,
                setup.real_port(port),
                sock=sock,
                client_factory=lambda: client,
                username=setup.serial,
                client_keys=[setup.client_key],
                known_hosts=([], [], []),
                agent_path=None,
                config=None,
                preferred_auth="publickey",
                encryption_algs=ENCRYPTION_ALGS,
                keepalive_interval=0,
                connect_timeout=None,
                login_timeout=0,
            )
        except asyncssh.HostKeyNotVerifiable:
            sock.close()
            self.presented_key = client.presented
            mismatch = client.pin is not None and client.pin.verdict is PinVerdict.MISMATCH
            detail = ""
            if client.pin is not None:
                pinned = ", ".join(client.pin.pinned) or "none"
                detail = f"presented {client.pin.presented}; pinned {pinned}"
            reason = Reason.HOST_KEY_MISMATCH if mismatch else Reason.HOST_KEY_UNKNOWN
            raise AttemptFailed(failure(reason, host=host, port=port, detail=detail)) from None
        except asyncssh.PermissionDenied:
            sock.close()
            raise AttemptFailed(failure(Reason.AUTH_REJECTED, host=host, port=port)) from None
        except ConnectionResetError:
            sock.close()
            raise AttemptFailed(failure(Reason.RESET, host=host, port=port)) from None
        except (asyncssh.Error, OSError) as error:
            sock.close()
            raise AttemptFailed(
                failure(Reason.SSH_FAILED, host=host, port=port, detail=str(error))
            ) from None
        self.stage(TunnelState.FORWARDING)
        own = self._routes[setup.serial]
        try:
            await conn.create_server(
                own.accept,
                setup.serial,
                SERVICE_PORT,
                window=CHANNEL_WINDOW,
                max_pktsize=CHANNEL_MAX_PACKET,
            )
        except (asyncssh.ChannelListenError, asyncssh.Error, OSError) as error:
            conn.close()
            detail = self._notices.pop(setup.serial.lower(), "") or str(error)
            raise AttemptFailed(
                failure(Reason.FORWARD_REJECTED, host=host, port=port, detail=detail)
            ) from None
        except BaseException:
            conn.close()
            raise
        self._budget.succeeded()
        return conn, client

    async def _hold(self, conn: asyncssh.SSHClientConnection, client: _AgentClient) -> Failure:
        """Serve the tunnel until it closes; return why it closed."""
        self._conn = conn
        watch = watch_connection(conn, self.setup.keepalive)
        try:
            self.stage(TunnelState.ESTABLISHED)
            for serial in list(self._routes):
                if serial != self.setup.serial:
                    await self._open_route(conn, serial)
            await conn.wait_closed()
        finally:
            if watch is not None:
                sweep_for(self.setup.keepalive.tick).forget(watch)
        self._conn = None
        self._drop_routes()
        settings = self.setup.keepalive
        if watch is not None and watch.silent:
            reason = Reason.KEEPALIVE_TIMEOUT
            detail = f"nothing heard from the relay for {settings.timeout:g} s"
        else:
            reason, detail = _why_lost(client.lost)
        return failure(reason, host=self.setup.relay_host, port=self.port, detail=detail)

    async def _open_route(self, conn: asyncssh.SSHClientConnection, serial: str) -> None:
        sessions = self._routes.get(serial)
        if sessions is None:
            return
        try:
            listener = await conn.create_server(
                sessions.accept,
                serial,
                SERVICE_PORT,
                window=CHANNEL_WINDOW,
                max_pktsize=CHANNEL_MAX_PACKET,
            )
        except (asyncssh.ChannelListenError, asyncssh.Error, OSError) as error:
            # Only this appliance's route failed: the gateway's own tunnel stays up.
            why = self._route_refused(serial, error)
            self._log(
                Level.ERROR, f"the relay refused the route for {serial}: {why.detail or error}"
            )
            self._on_route(serial, False, why)
            return
        if serial not in self._routes:
            listener.close()
            return
        self._listeners[serial] = listener
        self._on_route(serial, True, None)

    def _drop_routes(self) -> None:
        self._listeners.clear()
        for serial in self._routes:
            if serial != self.setup.serial:
                self._on_route(serial, False, None)

    async def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        for sessions in self._routes.values():
            sessions.cut_all()
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()
            self._drop_routes()


def _why_lost(lost: Exception | None) -> tuple[Reason, str]:
    """The reason an established tunnel closed, from what asyncssh reported."""
    if was_superseded(lost):
        return Reason.SUPERSEDED, str(lost)
    if isinstance(lost, ConnectionResetError):
        return Reason.RESET, str(lost) or "connection reset by peer"
    return Reason.CONNECTION_LOST, str(lost or "")
