"""Support connections of one appliance: accept, pipe to its service endpoint, count, end.

With the built-in endpoint a connection becomes a (SERVICE) session only once the engineer has
authenticated: a rejected login is audited as such, never shown as support inside. With a real
sshd behind the tunnel, rac cannot see the login, so the channel's lifetime is the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncssh

from tui.engine.channel_bridge import CountingForwarder
from tui.engine.events import EventSink, Level, LogRecord, ServiceEnded, ServiceStarted
from tui.engine.service_endpoint import BuiltinServiceEndpoint
from tui.engine.socket_options import tune_liveness

# How long a session told to end may take to say goodbye before it is cut: support must be
# out within a second.
GOODBYE_GRACE = 0.5


@dataclass(slots=True)
class ServiceSession:
    """One support connection inside the appliance."""

    connection_id: str
    source: str
    started: float
    engineer: str = ""
    announced: bool = False
    session_id: str = ""
    channel_side: CountingForwarder | None = field(default=None, repr=False)
    endpoint_side: CountingForwarder | None = field(default=None, repr=False)

    @property
    def bytes_in(self) -> int:
        """Bytes from the engineer to the appliance."""
        return self.channel_side.received if self.channel_side else 0

    @property
    def bytes_out(self) -> int:
        """Bytes from the appliance to the engineer."""
        return self.endpoint_side.received if self.endpoint_side else 0

    def cut(self) -> None:
        """Close both sides now."""
        if self.channel_side is not None:
            self.channel_side.close()


ServiceTarget = BuiltinServiceEndpoint | tuple[str, int]


class ServiceSessions:
    """Accepts support channels for one appliance while access is open."""

    def __init__(self, name: str, target: ServiceTarget, *, clock: Callable[[], float],
                 emit: EventSink, on_count: Callable[[int], None]) -> None:
        self.name = name
        self.target = target
        self.accepting = False
        self.refusal = "Remote access is not enabled on this appliance."
        self._clock = clock
        self._emit = emit
        self._on_count = on_count
        self._connections: dict[str, ServiceSession] = {}
        self.active = 0
        """How many (SERVICE) sessions are open (cheap to ask, a thousand times a second)."""
        self._session_numbers = itertools.count(1)
        self._connection_ids = itertools.count(1)
        self._all_gone = asyncio.Event()
        self._all_gone.set()

    @property
    def sessions(self) -> list[ServiceSession]:
        """(SERVICE) sessions now: authenticated ones (any connection for a real sshd)."""
        if not self.active:
            return []
        return [s for s in self._connections.values() if s.announced]

    def open(self) -> None:
        """Start accepting support channels."""
        self.accepting = True

    def stop_accepting(self, refusal: str) -> None:
        """No new channels; the ones open run on."""
        self.accepting = False
        self.refusal = refusal

    async def accept(self, orig_host: str, orig_port: int) -> CountingForwarder:
        """asyncssh session factory for a channel the relay opened towards this appliance."""
        if not self.accepting:
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
                                            self.refusal)
        source = f"{orig_host}:{orig_port}" if orig_host else "relay"
        if isinstance(self.target, BuiltinServiceEndpoint):
            self.target.admit(source)  # refuses when too many logins are in progress
        session = ServiceSession(f"{self.name}~{next(self._connection_ids)}", source,
                                 self._clock())
        try:
            endpoint_side = await self._connect_target(session)
        except OSError as error:
            self._log(Level.ERROR, f"support connection from {source} could not reach the "
                      f"service endpoint: {error.strerror or error}")
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED,
                                            "The appliance's service endpoint is down.") from None
        session.endpoint_side = endpoint_side
        session.channel_side = CountingForwarder(endpoint_side,
                                                 on_close=lambda: self._ended(session))
        self._connections[session.connection_id] = session
        self._all_gone.clear()
        if not isinstance(self.target, BuiltinServiceEndpoint):
            self._announce(session)
        return session.channel_side

    async def _connect_target(self, session: ServiceSession) -> CountingForwarder:
        loop = asyncio.get_running_loop()
        if isinstance(self.target, BuiltinServiceEndpoint):
            ours, theirs = socket.socketpair()
            self.target.serve(theirs, session.connection_id, session.source)
            _, protocol = await loop.create_connection(CountingForwarder, sock=ours)
        else:
            host, port = self.target
            transport, protocol = await loop.create_connection(CountingForwarder, host, port)
            tune_liveness(transport.get_extra_info("socket"))
        return protocol

    def authenticated(self, connection_id: str, engineer: str) -> None:
        """The built-in endpoint let the engineer in: now support is inside."""
        session = self._connections.get(connection_id)
        if session is not None and not session.announced:
            session.engineer = engineer
            self._announce(session)

    def _announce(self, session: ServiceSession) -> None:
        # Only sessions get numbers (#1, #2, …): refused logins do not use them up.
        session.announced = True
        session.session_id = f"{self.name}#{next(self._session_numbers)}"
        self.active += 1
        self._emit(ServiceStarted(self.name, session.session_id, session.source,
                                  session.started, session.engineer))
        self._on_count(self.active)

    def _ended(self, session: ServiceSession) -> None:
        if self._connections.pop(session.connection_id, None) is None:
            return
        if not self._connections:
            self._all_gone.set()
        if not session.announced:
            return
        self.active -= 1
        now = self._clock()
        self._emit(ServiceEnded(self.name, session.session_id, session.source, now,
                                session.engineer, session.bytes_in, session.bytes_out,
                                max(0.0, now - session.started)))
        self._on_count(self.active)

    def cut_all(self) -> None:
        """End every connection now, without a word (the tunnel under them is gone)."""
        for session in list(self._connections.values()):
            session.cut()

    async def end_all(self, reason: str) -> None:
        """Tell the engineers why their sessions end, then make sure they have (< 1 s)."""
        if not self._connections:
            return
        if isinstance(self.target, BuiltinServiceEndpoint):
            self.target.revoke(reason)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_gone.wait(), GOODBYE_GRACE)
        self.cut_all()

    def _log(self, level: Level, message: str) -> None:
        self._emit(LogRecord(self.name, level, message, self._clock()))
