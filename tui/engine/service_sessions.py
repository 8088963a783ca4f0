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
from pathlib import Path

import asyncssh

from tui.engine.channel_bridge import CountingForwarder
from tui.engine.events import EventSink, Level, LogRecord, ServiceEnded, ServiceStarted
from tui.engine.recorder import (
    DEFAULT_CAP,
    AsciicastRecorder,
    RecordingHeader,
    recording_path,
)
from tui.engine.service_endpoint import BuiltinServiceEndpoint
from tui.engine.session_tap import SessionTap
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
    tap: SessionTap | None = field(default=None, repr=False)
    ended_by: str = ""

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


@dataclass(frozen=True, slots=True)
class RecordingPlan:
    """Where the built-in endpoint's sessions are recorded, and how much of each at most."""

    directory: Path
    serial: str
    cap: int = DEFAULT_CAP
    enabled: bool = True


ENDED_BY_OPERATOR = "support session ended by the operator."


class ServiceSessions:
    """Accepts support channels for one appliance while access is open."""

    def __init__(
        self,
        name: str,
        target: ServiceTarget,
        *,
        clock: Callable[[], float],
        emit: EventSink,
        on_count: Callable[[int], None],
        number: Callable[[], int] | None = None,
        recording: RecordingPlan | None = None,
    ) -> None:
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
        self._number = number or itertools.count(1).__next__
        self._recording = recording
        self._closing: set[asyncio.Task[None]] = set()
        self._gone: dict[str, asyncio.Future[None]] = {}
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
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, self.refusal)
        source = f"{orig_host}:{orig_port}" if orig_host else "relay"
        if isinstance(self.target, BuiltinServiceEndpoint):
            self.target.admit(source)  # refuses when too many logins are in progress
        session = ServiceSession(f"{self.name}~{next(self._connection_ids)}", source, self._clock())
        try:
            endpoint_side = await self._connect_target(session)
        except OSError as error:
            self._log(
                Level.ERROR,
                f"support connection from {source} could not reach the "
                f"service endpoint: {error.strerror or error}",
            )
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_CONNECT_FAILED, "The appliance's service endpoint is down."
            ) from None
        session.endpoint_side = endpoint_side
        session.channel_side = CountingForwarder(
            endpoint_side, on_close=lambda: self._ended(session)
        )
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

    @property
    def watchable(self) -> bool:
        """The built-in endpoint sees the terminal; a real sshd's session stays encrypted."""
        return isinstance(self.target, BuiltinServiceEndpoint)

    def find(self, session_id: str) -> ServiceSession | None:
        """An open (SERVICE) session by its id."""
        for session in self._connections.values():
            if session.announced and session.session_id == session_id:
                return session
        return None

    def tap_for(self, connection_id: str) -> SessionTap | None:
        """The endpoint asks, when the engineer's shell starts, where its terminal goes."""
        session = self._connections.get(connection_id)
        return session.tap if session is not None else None

    def authenticated(self, connection_id: str, engineer: str) -> None:
        """The built-in endpoint let the engineer in: now support is inside."""
        session = self._connections.get(connection_id)
        if session is not None and not session.announced:
            session.engineer = engineer
            self._announce(session)

    def _announce(self, session: ServiceSession) -> None:
        # Only sessions get numbers (#1, #2, …): refused logins do not use them up.
        session.announced = True
        session.session_id = f"{self.name}#{self._number()}"
        recording = ""
        if self.watchable:
            session.tap = SessionTap(session.session_id)
            recording = self._start_recording(session, session.tap)
        self.active += 1
        self._emit(
            ServiceStarted(
                self.name,
                session.session_id,
                session.source,
                session.started,
                session.engineer,
                recording,
            )
        )
        self._on_count(self.active)

    def _start_recording(self, session: ServiceSession, tap: SessionTap) -> str:
        plan = self._recording
        if plan is None or not plan.enabled:
            return ""
        path = recording_path(plan.directory, session.session_id)

        def start(width: int, height: int) -> AsciicastRecorder:
            header = RecordingHeader(
                width,
                height,
                session.started,
                session.session_id,
                self.name,
                plan.serial,
                session.engineer,
                session.source,
            )
            return AsciicastRecorder(
                path,
                header,
                cap=plan.cap,
                on_problem=lambda why: self._log(
                    Level.WARNING, f"session {session.session_id}: {why}"
                ),
            )

        tap.start_recording = start
        return str(path)

    def _ended(self, session: ServiceSession) -> None:
        if self._connections.pop(session.connection_id, None) is None:
            return
        gone = self._gone.pop(session.connection_id, None)
        if gone is not None and not gone.done():
            gone.set_result(None)
        if not self._connections:
            self._all_gone.set()
        if not session.announced:
            return
        self.active -= 1
        now = self._clock()
        recording, note = "", ""
        if session.tap is not None:
            session.tap.end()
            recorder = session.tap.recorder
            if recorder is not None:
                recording = str(recorder.path)
                note = _recording_note(recorder)
                task = asyncio.get_running_loop().create_task(recorder.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        self._emit(
            ServiceEnded(
                self.name,
                session.session_id,
                session.source,
                now,
                session.engineer,
                session.bytes_in,
                session.bytes_out,
                max(0.0, now - session.started),
                recording,
                note,
                session.ended_by,
            )
        )
        self._on_count(self.active)

    async def end_one(self, session_id: str) -> bool:
        """End one session (the operator's `x`), telling the engineer; others run on."""
        session = self.find(session_id)
        if session is None:
            return False
        session.ended_by = "operator"
        if isinstance(self.target, BuiltinServiceEndpoint):
            self.target.end_connection(session.connection_id, ENDED_BY_OPERATOR)
            gone = asyncio.get_running_loop().create_future()
            self._gone[session.connection_id] = gone
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gone, GOODBYE_GRACE)
            self._gone.pop(session.connection_id, None)
        session.cut()
        return True

    async def flush_recordings(self) -> None:
        """Wait until every ended session's recording is on disk."""
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

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


def _recording_note(recorder: AsciicastRecorder) -> str:
    """What the audit line says when a recording is not the whole session."""
    if recorder.error:
        return f"recording failed ({recorder.error}); {recorder.dropped} bytes not recorded"
    if recorder.truncated:
        return (
            f"recording truncated at its cap of {recorder.cap} bytes; "
            f"{recorder.dropped} bytes not recorded"
        )
    if recorder.dropped:
        return f"recording fell behind the disk; {recorder.dropped} bytes not recorded"
    return ""
