"""Refused support logins, audited without letting a flood fill the disk.

The first refusals of each minute are written in full (source, user, the reason of every
failed attempt); past that, refusals are only counted, and one summary line per minute says
how many came from where and why. The throttle already slows guessing; this bounds the log.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

INTERVAL = 60.0
FULL_PER_INTERVAL = 20
KEYS_PER_SUMMARY = 20
"""Distinct sources (and reasons) named in one summary; the rest are counted as `other`."""


@dataclass(frozen=True, slots=True)
class RefusedLogin:
    """One support connection that ended without getting in."""

    source: str
    user: str
    attempts: tuple[str, ...]
    """The reason of every failed attempt, in order (empty: it offered no credential)."""
    why: str
    """The most telling of them (or why the connection was refused before any attempt)."""


@dataclass(frozen=True, slots=True)
class RefusalSummary:
    """Refusals counted but not written one by one during one interval."""

    count: int
    by_source: dict[str, int]
    by_reason: dict[str, int]
    interval: float


class RefusalTally:
    """Passes refusals on in full up to a rate, and summarises the rest per interval."""

    def __init__(
        self,
        write: Callable[[RefusedLogin], None],
        summarise: Callable[[RefusalSummary], None],
        *,
        interval: float = INTERVAL,
        full_per_interval: int = FULL_PER_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._summarise = summarise
        self.interval = interval
        self.full_per_interval = full_per_interval
        self._clock = clock
        self._window_end = 0.0
        self._written = 0
        self._sources: Counter[str] = Counter()
        self._reasons: Counter[str] = Counter()
        self._timer: asyncio.TimerHandle | None = None

    def refused(self, login: RefusedLogin) -> None:
        """Write `login` now, or count it for the interval's summary."""
        now = self._clock()
        if now >= self._window_end:
            self.flush()
            self._window_end = now + self.interval
            self._written = 0
        if self._written < self.full_per_interval:
            self._written += 1
            self._write(login)
            return
        _count(self._sources, login.source.rpartition(":")[0] or login.source)
        _count(self._reasons, login.why)
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(0.0, self._window_end - now), self.flush)

    def flush(self) -> None:
        """Write the summary of what was counted (at the end of an interval, or on close)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        count = sum(self._sources.values())
        if count:
            self._summarise(
                RefusalSummary(count, dict(self._sources), dict(self._reasons), self.interval)
            )
        self._sources.clear()
        self._reasons.clear()


def _count(counter: Counter[str], key: str) -> None:
    """Count under `key`, or under `other` once the summary names enough keys."""
    if key not in counter and len(counter) >= KEYS_PER_SUMMARY:
        key = "other"
    counter[key] += 1
