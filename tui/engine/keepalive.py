"""Finds a silent SSH peer with one sweep a second for all connections, not a timer each.

Each side sends a heartbeat (an SSH_MSG_IGNORE, which needs no answer) when it has sent
nothing for `interval` seconds, and gives up on a peer it has heard nothing from for
`timeout` seconds: any packet counts as hearing it. One periodic sweep per event loop reads
each watched connection's packet counters (asyncssh numbers every packet), so a busy tunnel
costs nothing per packet and an idle one two small packets per interval, with no timer, task
or reply to wait for. A peer that sends no heartbeats of its own (an older rac, OpenSSH) is
asked with a keepalive request (`keepalive@openssh.com`, answered by every SSH server) once
it has been quiet for `ask_after`, still inside `timeout`.

asyncssh's own keepalive (the agent's before) re-armed a timer on every packet received and
gave up only after interval × (count + 1) of silence: 60 s at 15 s × 3. Defaults here: 15 s,
19 s, swept every second: a silent peer is found within 20 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import asyncssh
from asyncssh.constants import MSG_IGNORE
from asyncssh.packet import String

KEEPALIVE_REQUEST = b"keepalive@openssh.com"

SSHConnection = asyncssh.SSHClientConnection | asyncssh.SSHServerConnection


@dataclass(frozen=True, slots=True)
class KeepaliveSettings:
    """When to send a heartbeat, when to give up; `tick` is the sweep's resolution."""

    interval: float = 15.0
    timeout: float = 19.0
    tick: float = 1.0

    @classmethod
    def of(cls, interval: float, timeout: float) -> KeepaliveSettings:
        """Settings for this interval and timeout, swept at a resolution that suits them."""
        return cls(interval, timeout, tick=min(1.0, max(0.05, timeout / 20)))

    @property
    def enabled(self) -> bool:
        """Zero turns the SSH keepalive off (as `ServerAliveInterval 0` does in OpenSSH)."""
        return self.interval > 0 and self.timeout > 0

    @property
    def ask_after(self) -> float:
        """Quiet this long, the peer's heartbeat is overdue: ask it, still inside `timeout`."""
        return max(self.interval + self.tick, self.timeout - 2 * self.tick)


DEFAULT_KEEPALIVE = KeepaliveSettings()


class LivenessWatch:
    """One connection's liveness, checked by the sweep.

    `due` is the next time something may have to be done (a heartbeat, a keepalive request,
    giving up) if the counters have not moved meanwhile: until then the sweep only compares
    the two counters, without calling into this object (most ticks, for most connections).
    """

    __slots__ = (
        "_ask_after",
        "_asked",
        "_heard_at",
        "_interval",
        "_on_silent",
        "_sent_at",
        "_timeout",
        "conn",
        "due",
        "heard_seq",
        "sent_seq",
        "settings",
        "silent",
    )

    def __init__(
        self,
        conn: SSHConnection,
        settings: KeepaliveSettings,
        now: float,
        on_silent: Callable[[], None] | None = None,
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.silent = False
        self._on_silent = on_silent
        self._interval = settings.interval
        self._timeout = settings.timeout
        self._ask_after = settings.ask_after
        self.heard_seq = conn._recv_seq
        self.sent_seq = conn._send_seq
        self._heard_at = self._sent_at = now
        self._asked = False
        self.due = now + min(self._interval, self._ask_after)

    def check(self, now: float) -> bool:
        """Send a heartbeat, ask or give up as due; False once the connection is done with."""
        conn = self.conn
        if self.silent or conn._transport is None:
            return False
        # asyncssh numbers every packet it receives and sends (the SSH sequence numbers):
        # reading them costs nothing per packet, where a hook on every packet would.
        if conn._recv_seq != self.heard_seq:
            self.heard_seq, self._heard_at, self._asked = conn._recv_seq, now, False
        if conn._send_seq != self.sent_seq:
            self.sent_seq, self._sent_at = conn._send_seq, now
        quiet = now - self._heard_at
        if quiet >= self._timeout:
            self._give_up()
            return False
        if now - self._sent_at >= self._interval:
            conn.send_packet(MSG_IGNORE, String(b""))
            self.sent_seq, self._sent_at = conn._send_seq, now
        if quiet >= self._ask_after and not self._asked:
            self._asked = True
            task = asyncio.get_running_loop().create_task(_request_keepalive(conn))
            _REQUESTS.add(task)
            task.add_done_callback(_REQUESTS.discard)
        heard_due = self._heard_at + (self._timeout if self._asked else self._ask_after)
        self.due = min(self._sent_at + self._interval, heard_due)
        return True

    def _give_up(self) -> None:
        self.silent = True
        if self._on_silent is not None:
            self._on_silent()
        self.conn.abort()


_REQUESTS: set[asyncio.Task[None]] = set()


async def _request_keepalive(conn: SSHConnection) -> None:
    # The reply's content does not matter (OpenSSH answers failure, asyncssh success); a
    # connection that closes meanwhile is the sweep's business, not this request's.
    with contextlib.suppress(asyncssh.Error, OSError):
        await conn._make_global_request(KEEPALIVE_REQUEST)


class KeepaliveSweep:
    """All the watches of one event loop at one resolution, checked by a single timer."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self._watches: dict[int, LivenessWatch] = {}
        self._timer: asyncio.TimerHandle | None = None

    def watch(
        self,
        conn: SSHConnection,
        settings: KeepaliveSettings,
        on_silent: Callable[[], None] | None = None,
    ) -> LivenessWatch:
        """Start watching `conn`; `forget` it when it closes."""
        loop = asyncio.get_running_loop()
        watch = LivenessWatch(conn, settings, loop.time(), on_silent)
        self._watches[id(watch)] = watch
        if self._timer is None:
            self._timer = loop.call_later(self.tick, self._sweep)
        return watch

    def forget(self, watch: LivenessWatch) -> None:
        """Stop watching (the connection closed)."""
        self._watches.pop(id(watch), None)
        if not self._watches and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        self.sweep_at(loop.time())
        self._timer = loop.call_later(self.tick, self._sweep) if self._watches else None

    def sweep_at(self, now: float) -> None:
        """Check every watch as of `now` (the timer's tick)."""
        done = []
        for key, watch in self._watches.items():
            conn = watch.conn
            # Nothing moved and nothing is due: the common case, decided here without a call.
            if (
                now < watch.due
                and conn._recv_seq == watch.heard_seq
                and conn._send_seq == watch.sent_seq
            ):
                continue
            if not watch.check(now):
                done.append(key)
        for key in done:
            del self._watches[key]


_SWEEPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, KeepaliveSweep]] = (
    weakref.WeakKeyDictionary()
)


def sweep_for(tick: float) -> KeepaliveSweep:
    """The running loop's sweep at this resolution (made on first use)."""
    by_tick = _SWEEPS.setdefault(asyncio.get_running_loop(), {})
    sweep = by_tick.get(tick)
    if sweep is None:
        sweep = by_tick[tick] = KeepaliveSweep(tick)
    return sweep


def watch_connection(
    conn: SSHConnection, settings: KeepaliveSettings, on_silent: Callable[[], None] | None = None
) -> LivenessWatch | None:
    """Keep `conn` alive and find its peer silent (None when keepalive is off)."""
    if not settings.enabled:
        return None
    return sweep_for(settings.tick).watch(conn, settings, on_silent)
