"""Route hints: a node keeps its recent lookups and drops one the moment Redis says it changed.

Every node publishes a hint when it claims a serial anew or releases it. A node that listens
can keep what it looked up (an appliance found on node B, or found nowhere) and answer the
next engineer without asking Redis, and still reach an appliance at once when it re-homes or
connects: the hint drops the kept answer. This is Redis's own rule for client-side caching:
kept answers are used only while the hint channel is provably live — subscribed, and heard
from (a hint or a pong) within `HEALTHY_WITHIN` seconds. A cut channel (Redis restarted, a slow
subscriber dropped by Redis, a partition) stops the keeping at once and every lookup asks
Redis again: missed hints cost speed, never a wrong answer. Correctness stays with the keys
and their expiry; an answer is also kept at most `max_age` (a third of the route TTL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tui.engine.relay.directory import RouteEntry

log = logging.getLogger(__name__)

PING_EVERY = 1.0
"""While no hint comes, the subscriber pings this often to prove the channel is live."""
HEALTHY_WITHIN = 3.0
"""Kept answers are used only if the channel was heard from this recently."""
MAX_KEPT = 65536
"""Past this many serials the whole cache is dropped (engineers asking for random serials
must not grow a node's memory)."""
RESUBSCRIBE_DELAY = 0.5


class LookupCache:
    """Answers kept per serial, usable only while the hint channel is live."""

    def __init__(self, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._kept: dict[str, tuple[float, list[RouteEntry]]] = {}
        self._asking: dict[str, bool] = {}
        """Serials being looked up now → whether the answer may still be kept (a hint that
        arrives meanwhile makes it stale before it lands)."""
        self._subscribed = False
        self._heard = float("-inf")
        self.hints = 0
        """Hints received (tests wait on `hinted`)."""
        self.hinted = asyncio.Event()
        """Set on each hint."""
        self.ready = asyncio.Event()
        """Set while subscribed (tests wait for it)."""
        self.was_cut = asyncio.Event()
        """Set when the channel is cut (tests wait for it)."""

    @property
    def live(self) -> bool:
        """Whether kept answers may be used now."""
        return self._subscribed and self._clock() - self._heard <= HEALTHY_WITHIN

    def get(self, serial: str) -> list[RouteEntry] | None:
        """The kept answer for `serial`, if it may be used."""
        kept = self._kept.get(serial)
        if kept is None or not self.live:
            return None
        if self._clock() - kept[0] > self.max_age:
            del self._kept[serial]
            return None
        return kept[1]

    def asking(self, serial: str) -> None:
        """A lookup of `serial` goes to Redis now."""
        self._asking[serial] = True

    def answered(self, serial: str, entries: list[RouteEntry]) -> None:
        """Keep Redis's answer, unless a hint for `serial` came while it was asked."""
        keep = self._asking.pop(serial, False)
        if not keep or not self.live:
            return
        if len(self._kept) >= MAX_KEPT:
            self._kept.clear()
        self._kept[serial] = (self._clock(), entries)

    def gave_up(self, serial: str) -> None:
        """The lookup of `serial` failed: nothing to keep."""
        self._asking.pop(serial, None)

    def drop(self, serial: str) -> None:
        """Forget what is kept for `serial` (and what is being asked for it)."""
        self._kept.pop(serial, None)
        if serial in self._asking:
            self._asking[serial] = False

    # -- the channel's state, from the subscriber ------------------------------------------

    def subscribed(self) -> None:
        self._subscribed = True
        self.heard()
        self.was_cut.clear()
        self.ready.set()

    def heard(self) -> None:
        self._heard = self._clock()

    def hint(self, serial: str) -> None:
        self.heard()
        self.drop(serial)
        self.hints += 1
        self.hinted.set()

    def cut(self) -> None:
        """The channel is gone: nothing kept may be trusted any more."""
        self._subscribed = False
        self._kept.clear()
        for serial in self._asking:
            self._asking[serial] = False
        self.ready.clear()
        self.was_cut.set()


class HintSubscriber:
    """Listens on the hint channel for a node and feeds its LookupCache (resubscribes after
    any failure; the cache is cut meanwhile)."""

    def __init__(self, client: aioredis.Redis, channel: str, cache: LookupCache, name: str) -> None:
        self._client = client
        self._channel = channel
        self._cache = cache
        self._name = name
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._listen_for_ever(), name=f"rac-route-hints-{self._name}"
        )

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._cache.cut()

    async def _listen_for_ever(self) -> None:
        while True:
            try:
                await self._listen()
            except (RedisError, OSError) as error:
                log.debug("route hints of %s cut: %s", self._name, error)
            finally:
                self._cache.cut()
            await asyncio.sleep(RESUBSCRIBE_DELAY)

    async def _listen(self) -> None:
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            while True:
                message = await pubsub.get_message(timeout=PING_EVERY)
                if message is None:
                    await pubsub.ping()
                    continue
                kind = message.get("type")
                if kind == "message":
                    self._cache.hint(str(message["data"]))
                elif kind == "subscribe":
                    self._cache.subscribed()
                elif kind == "pong":
                    self._cache.heard()
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py: untyped
