"""Finds a silent SSH peer with one sweep a second for all connections, not a timer each.

asyncssh's own keepalive re-arms a timer on every packet received and gives up only after
interval × (count + 1) of silence (60 s at 15 s × 3). Here one periodic sweep per event loop
reads each watched connection's packet counters: a connection that has heard nothing for
`timeout` seconds is aborted; one whose link was quiet for `probe_after` seconds sends one
keepalive request (the answer, or any other packet, counts as hearing the peer). An idle
tunnel costs one exchange per `probe_after` seconds, the same as asyncssh's at that
interval, and the peer is found silent `timeout` seconds (plus at most one tick) after it
last spoke: 15 s, 19 s and 1 s by default, so within 20 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import asyncssh

KEEPALIVE_REQUEST = b"keepalive@openssh.com"


@dataclass(frozen=True, slots=True)
class KeepaliveSettings:
    """When to probe and when to give up; `tick` is the sweep's resolution.

    The agent probes when it heard or sent nothing for `interval`, so the relay hears it at
    least that often; the relay gives up on the same `timeout` and probes only as a fallback
    (`relay_probe_after`), so an idle tunnel costs one exchange per interval, not two.
    """

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
    def relay_probe_after(self) -> float:
        """The relay's own probe: only once the agent's is overdue, still inside `timeout`."""
        return max(self.interval, self.timeout - 2 * self.tick)


DEFAULT_KEEPALIVE = KeepaliveSettings()


class LivenessWatch:
    """One connection's liveness, checked by the sweep."""

    def __init__(self, conn: asyncssh.SSHClientConnection | asyncssh.SSHServerConnection, *,
                 probe_after: float, probe_when_sending_quiet: bool, timeout: float,
                 now: float, on_silent: Callable[[], None] | None = None) -> None:
        self.conn = conn
        self.timeout = timeout
        self.silent = False
        self._probe_after = probe_after
        self._probe_send_quiet = probe_when_sending_quiet
        self._on_silent = on_silent
        self._heard_seq, self._sent_seq = _counters(conn)
        self._heard_at = self._sent_at = now
        self._probe_at: float | None = None

    def check(self, now: float) -> bool:
        """Probe or give up as due; False once the connection is done with."""
        if self.silent or self.conn.is_closed():
            return False
        heard, sent = _counters(self.conn)
        if heard != self._heard_seq:
            self._heard_seq, self._heard_at, self._probe_at = heard, now, None
        if sent != self._sent_seq:
            self._sent_seq, self._sent_at = sent, now
        if now - self._heard_at >= self.timeout:
            self._give_up()
            return False
        quiet = now - self._heard_at >= self._probe_after or (
            self._probe_send_quiet and now - self._sent_at >= self._probe_after)
        if quiet and self._probe_at is None:
            self.probe(now)
        return True

    def probe(self, now: float) -> None:
        """Send one keepalive request now (the answer is seen through the counters)."""
        self._probe_at = now
        task = asyncio.get_running_loop().create_task(_request_keepalive(self.conn))
        _PROBES.add(task)
        task.add_done_callback(_PROBES.discard)

    def _give_up(self) -> None:
        self.silent = True
        if self._on_silent is not None:
            self._on_silent()
        self.conn.abort()


_PROBES: set[asyncio.Task[None]] = set()


def _counters(conn: asyncssh.SSHClientConnection | asyncssh.SSHServerConnection,
              ) -> tuple[int, int]:
    # asyncssh numbers every packet it receives and sends (the SSH sequence numbers); reading
    # them costs nothing per packet, where a hook on every packet would.
    return conn._recv_seq, conn._send_seq


async def _request_keepalive(
        conn: asyncssh.SSHClientConnection | asyncssh.SSHServerConnection) -> None:
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

    def watch(self, conn: asyncssh.SSHClientConnection | asyncssh.SSHServerConnection, *,
              probe_after: float, probe_when_sending_quiet: bool, timeout: float,
              on_silent: Callable[[], None] | None = None) -> LivenessWatch:
        """Start watching `conn`; `forget` it when it closes."""
        loop = asyncio.get_running_loop()
        watch = LivenessWatch(conn, probe_after=probe_after,
                              probe_when_sending_quiet=probe_when_sending_quiet,
                              timeout=timeout, now=loop.time(), on_silent=on_silent)
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
        now = loop.time()
        for key, watch in list(self._watches.items()):
            if not watch.check(now):
                del self._watches[key]
        self._timer = loop.call_later(self.tick, self._sweep) if self._watches else None


_SWEEPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, KeepaliveSweep]] = (
    weakref.WeakKeyDictionary())


def sweep_for(tick: float) -> KeepaliveSweep:
    """The running loop's sweep at this resolution (made on first use)."""
    by_tick = _SWEEPS.setdefault(asyncio.get_running_loop(), {})
    sweep = by_tick.get(tick)
    if sweep is None:
        sweep = by_tick[tick] = KeepaliveSweep(tick)
    return sweep


def watch_agent_side(conn: asyncssh.SSHClientConnection,
                     settings: KeepaliveSettings) -> LivenessWatch | None:
    """The agent's watch: probes whenever either direction was quiet for the interval."""
    if not settings.enabled:
        return None
    return sweep_for(settings.tick).watch(conn, probe_after=settings.interval,
                                          probe_when_sending_quiet=True,
                                          timeout=settings.timeout)


def watch_relay_side(conn: asyncssh.SSHServerConnection, settings: KeepaliveSettings,
                     on_silent: Callable[[], None]) -> LivenessWatch | None:
    """The relay's watch on an agent connection: gives up on the same timeout as the agent."""
    if not settings.enabled:
        return None
    return sweep_for(settings.tick).watch(conn, probe_after=settings.relay_probe_after,
                                          probe_when_sending_quiet=False,
                                          timeout=settings.timeout, on_silent=on_silent)
