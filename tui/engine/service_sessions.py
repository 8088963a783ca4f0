"""Support connections of one appliance: accept, pipe to its service endpoint, count, revoke."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncssh

from tui.engine.channel_bridge import CountingForwarder
from tui.engine.events import (
    EventSink,
    Level,
    LogRecord,
    ServiceEnded,
    ServiceIdentified,
    ServiceStarted,
)
from tui.engine.service_endpoint import BuiltinServiceEndpoint


@dataclass(slots=True)
class ServiceSession:
    """One support connection inside the appliance."""

    session_id: str
    source: str
    started: float
    engineer: str = ""
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
        self._sessions: dict[str, ServiceSession] = {}
        self._ids = itertools.count(1)

    @property
    def sessions(self) -> list[ServiceSession]:
        """Open sessions, oldest first."""
        return list(self._sessions.values())

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
        session_id = f"{self.name}#{next(self._ids)}"
        source = f"{orig_host}:{orig_port}" if orig_host else "relay"
        session = ServiceSession(session_id, source, self._clock())
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
        self._sessions[session_id] = session
        self._emit(ServiceStarted(self.name, session_id, source, session.started))
        self._on_count(len(self._sessions))
        return session.channel_side

    async def _connect_target(self, session: ServiceSession) -> CountingForwarder:
        loop = asyncio.get_running_loop()
        if isinstance(self.target, BuiltinServiceEndpoint):
            ours, theirs = socket.socketpair()
            self.target.serve(theirs, session.session_id, session.source)
            _, protocol = await loop.create_connection(CountingForwarder, sock=ours)
        else:
            host, port = self.target
            _, protocol = await loop.create_connection(CountingForwarder, host, port)
        return protocol

    def identified(self, session_id: str, engineer: str) -> None:
        """The endpoint learned the engineer's name from the certificate."""
        session = self._sessions.get(session_id)
        if session is not None and engineer:
            session.engineer = engineer
            self._emit(ServiceIdentified(self.name, session_id, engineer, self._clock()))

    def _ended(self, session: ServiceSession) -> None:
        if self._sessions.pop(session.session_id, None) is None:
            return
        now = self._clock()
        self._emit(ServiceEnded(self.name, session.session_id, session.source, now,
                                session.engineer, session.bytes_in, session.bytes_out,
                                max(0.0, now - session.started)))
        self._on_count(len(self._sessions))

    def cut_all(self) -> None:
        """End every open session now (disable, new seed, tunnel gone)."""
        for session in list(self._sessions.values()):
            session.cut()
        if isinstance(self.target, BuiltinServiceEndpoint):
            self.target.revoke()

    def _log(self, level: Level, message: str) -> None:
        self._emit(LogRecord(self.name, level, message, self._clock()))
