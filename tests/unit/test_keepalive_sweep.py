"""The keepalive sweep: a heartbeat after `interval` with nothing sent, a keepalive request
once the peer is overdue, giving up after `timeout` of silence, each on the tick it is due;
and a tick where nothing moved and nothing is due costs no call into the connection's watch
(one sweep a second over a thousand idle tunnels is most of what liveness costs at idle)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from tui.engine.keepalive import KeepaliveSettings, KeepaliveSweep, LivenessWatch, SSHConnection

SETTINGS = KeepaliveSettings(interval=15.0, timeout=19.0, tick=1.0)


class _Connection:
    """The counters and calls the sweep uses on an asyncssh connection."""

    def __init__(self) -> None:
        self._recv_seq = 0
        self._send_seq = 0
        self._transport: object | None = object()
        self.heartbeats = 0
        self.asked = 0
        self.aborted = False

    def send_packet(self, pkttype: int, *args: bytes) -> None:
        self._send_seq += 1
        self.heartbeats += 1

    async def _make_global_request(self, name: bytes) -> None:
        self.asked += 1

    def abort(self) -> None:
        self.aborted = True
        self._transport = None


async def _watched(silent: list[bool]) -> tuple[KeepaliveSweep, _Connection, float]:
    sweep = KeepaliveSweep(SETTINGS.tick)
    conn = _Connection()
    sweep.watch(cast(SSHConnection, conn), SETTINGS, lambda: silent.append(True))
    start = asyncio.get_running_loop().time()
    return sweep, conn, start


async def test_heartbeat_ask_and_give_up_each_on_its_tick() -> None:
    silent: list[bool] = []
    sweep, conn, start = await _watched(silent)
    try:
        for second in range(1, 15):
            sweep.sweep_at(start + second)
        assert conn.heartbeats == 0
        sweep.sweep_at(start + 15)
        assert conn.heartbeats == 1  # 15 s with nothing sent
        conn._recv_seq += 1  # the peer's heartbeat
        sweep.sweep_at(start + 16)
        for second in range(17, 33):
            sweep.sweep_at(start + second)
        assert conn.heartbeats == 2 and conn.asked == 0  # sent again at 30
        sweep.sweep_at(start + 33)  # 17 s since the peer was heard: ask it
        await asyncio.sleep(0)
        assert conn.asked == 1
        for second in range(34, 35):
            sweep.sweep_at(start + second)
        assert not silent and not conn.aborted
        sweep.sweep_at(start + 35)  # 19 s of silence
        assert silent == [True] and conn.aborted
        sweep.sweep_at(start + 36)
        assert conn.asked == 1 and conn.heartbeats == 2
    finally:
        sweep.sweep_at(start + 100)
        if sweep._timer is not None:
            sweep._timer.cancel()


async def test_a_quiet_tick_with_nothing_due_costs_no_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[float] = []
    check = LivenessWatch.check

    def counted(self: LivenessWatch, now: float) -> Any:
        calls.append(now)
        return check(self, now)

    monkeypatch.setattr(LivenessWatch, "check", counted)
    sweep, conn, start = await _watched([])
    try:
        for second in range(1, 15):
            sweep.sweep_at(start + second)
        assert calls == []
        conn._recv_seq += 1  # something heard: looked at on the next tick
        sweep.sweep_at(start + 15)
        assert calls == [start + 15] and conn.heartbeats == 1
    finally:
        conn.abort()
        sweep.sweep_at(start + 100)
        if sweep._timer is not None:
            sweep._timer.cancel()
