"""The route directory in Redis: one hash per serial, one field per node that holds it.

Each field is `generation connection-id deadline-ms peer-address`. A write is a Lua script
(atomic compare-and-set per route, up to BATCH routes per call, every call of a refresh in
one round trip): a new claim takes a fresh generation from a counter, a refresh
keeps its own and is refused when the field already carries a newer one, so a stale node can
never write over a newer entry. Deadlines use Redis's own clock (`TIME`), so node clocks do
not matter; readers skip and remove expired fields. Entries are refreshed every third of the
TTL with jitter and deleted on a clean shutdown. Pub/sub carries only a hint that a serial
changed: a node that listens (`hints=True`) keeps its lookups and drops one when its hint
comes (`route_hints.py`); correctness comes from the keys and their expiry.

While Redis is down, tunnels already up keep working: routes stay local, the writes wait,
and when Redis answers again the node publishes every route it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import AuthenticationError, NoScriptError, RedisError

from tui.engine.relay.directory import (
    DEFAULT_ROUTE_TTL,
    DirectoryUnavailable,
    RouteEntry,
    SingleFlight,
    newest_first,
)
from tui.engine.relay.route_hints import HintSubscriber, LookupCache

log = logging.getLogger(__name__)

KEY_PREFIX = "rac:route:"
GENERATION_KEY = "rac:route-generation"
HINT_CHANNEL = "rac:route-changed"
RETRY_DELAY = 0.5
BATCH = 250
"""Routes per script call: a refresh of 5,000 routes is twenty short scripts in one round trip
(Redis serves other clients between them), not one script that blocks it for the whole."""

# KEYS: generation counter, then one route hash per claim. ARGV: node, ttl ms, peer address,
# then connection and generation (0 = new claim) per claim. Returns, per claim, the generation
# written, or -1 when the field already carries a newer one (compare-and-set).
_CLAIM = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local node, ttl, peer = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local deadline = ' ' .. (now_ms + ttl) .. ' ' .. peer
local counter = tonumber(redis.call('GET', KEYS[1]) or '0')
local written = {}
for i = 2, #KEYS do
  local connection = ARGV[2 * i]
  local generation = tonumber(ARGV[2 * i + 1])
  local current = redis.call('HGET', KEYS[i], node)
  local held = current and tonumber(string.match(current, '^(%d+)'))
  if generation ~= 0 and held and held > generation then
    written[#written + 1] = -1
  else
    if generation == 0 then
      generation = redis.call('INCR', KEYS[1])
      counter = generation
    elseif counter < generation then
      redis.call('SET', KEYS[1], generation)  -- a Redis that lost its data counts on from here
      counter = generation
    end
    redis.call('HSET', KEYS[i], node, generation .. ' ' .. connection .. deadline)
    if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
    written[#written + 1] = generation
  end
end
return written
"""

# KEYS: route hashes. ARGV: node, then a connection per key. Deletes each field only if it is
# still that connection's.
_RELEASE = """
local released = 0
for i = 1, #KEYS do
  local current = redis.call('HGET', KEYS[i], ARGV[1])
  if current and string.match(current, '^%d+ (%S+)') == ARGV[i + 1] then
    released = released + redis.call('HDEL', KEYS[i], ARGV[1])
  end
end
return released
"""

# KEYS: route hash. Returns node, value pairs whose deadline has not passed (drops the rest).
_LOOKUP = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local fields = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #fields, 2 do
  local deadline = tonumber(string.match(fields[i + 1], '^%d+ %S+ (%d+)'))
  if deadline and deadline > now_ms then
    live[#live + 1] = fields[i]
    live[#live + 1] = fields[i + 1]
  else
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
return live
"""


@dataclass(frozen=True, slots=True)
class RedisTls:
    """TLS files for a `rediss://` directory (paths; None: the system's CA, no client cert)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def options(self) -> dict[str, Any]:
        """redis-py's keyword arguments: the server's certificate is always verified."""
        options: dict[str, Any] = {"ssl_cert_reqs": "required"}
        if self.ca_file:
            options["ssl_ca_certs"] = self.ca_file
        if self.cert_file:
            options["ssl_certfile"] = self.cert_file
            options["ssl_keyfile"] = self.key_file
        return options


def failure(error: BaseException) -> str:
    """Why Redis cannot be used, in words an operator acts on (never the password)."""
    if isinstance(error, AuthenticationError):
        return "it refused the password (check the password in [cluster] redis)"
    text = str(error)
    if "SSL" in text or "certificate" in text:
        return f"TLS with it failed ({_after_address(text)})"
    return f"it cannot be reached ({text or type(error).__name__})"


def _after_address(text: str) -> str:
    """redis-py's `Error 1 connecting to host:port. [SSL: …] …` without the first part."""
    return text.split(". ", 1)[1].rstrip(".") if text.startswith("Error ") else text


@dataclass(slots=True)
class _Claim:
    connection_id: str
    generation: int = 0


def redacted(url: str) -> str:
    """The Redis URL with any password replaced, for logs and messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.partition(":")[0]
    return f"{scheme}://{user + ':' if user else ':'}***@{host}"


class RedisDirectory:
    """The shared directory of a relay cluster (see the module docstring)."""

    def __init__(
        self,
        node_id: str,
        peer_address: str,
        url: str,
        *,
        ttl: float = DEFAULT_ROUTE_TTL,
        rng: random.Random | None = None,
        on_state: Callable[[bool, str], None] | None = None,
        hints: bool = False,
        tls: RedisTls | None = None,
    ) -> None:
        self.node_id = node_id
        self.peer_address = peer_address
        self.ttl = ttl
        self.url_shown = redacted(url)
        self._client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=2.0,
            socket_timeout=2.0,
            retry_on_timeout=False,
            decode_responses=True,
            **(tls or RedisTls()).options() if url.startswith("rediss://") else {},
        )
        self._rng = rng or random.Random()
        self._claims: dict[str, _Claim] = {}
        self._dirty: set[str] = set()
        self._releases: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flights = SingleFlight()
        self._claim_script = self._client.register_script(_CLAIM)
        self._release_script = self._client.register_script(_RELEASE)
        self._lookup_script = self._client.register_script(_LOOKUP)
        self.available: bool | None = None
        """None until the first answer (or failure) from Redis."""
        self.refused: list[str] = []
        """Serials whose refresh found a newer generation of our own field (a race we lost)."""
        self._on_state: Callable[[bool, str], None] | None = on_state
        self.published = asyncio.Event()
        """Set each time every pending write has reached Redis (tests wait for it)."""
        self.refreshed = asyncio.Event()
        """Set each time every route this node holds has been written again (tests wait)."""
        self.cache: LookupCache | None = LookupCache(ttl / 3) if hints else None
        self._hints = (
            HintSubscriber(self._client, HINT_CHANNEL, self.cache, node_id) if self.cache else None
        )

    @property
    def lookups(self) -> int:
        """Lookups that reached Redis (concurrent ones for a serial count once)."""
        return self._flights.calls

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._writer(), name=f"rac-directory-{self.node_id}"
        )
        if self._hints is not None:
            self._hints.start()

    async def close(self) -> None:
        if self._hints is not None:
            await self._hints.close()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        held = [(serial, claim.connection_id) for serial, claim in self._claims.items()]
        with contextlib.suppress(RedisError, OSError):
            for start in range(0, len(held), BATCH):
                keys, args = self._release_call(held[start : start + BATCH])
                await self._release_script(keys=keys, args=args)
        self._claims.clear()
        await self._client.aclose()

    def claim(self, serial: str, connection_id: str) -> None:
        key = serial.lower()
        self._claims[key] = _Claim(connection_id)
        self._releases.pop(key, None)
        self._dirty.add(key)
        self.published.clear()
        self._wake.set()

    def release(self, serial: str, connection_id: str) -> None:
        key = serial.lower()
        claim = self._claims.get(key)
        if claim is not None and claim.connection_id == connection_id:
            del self._claims[key]
            self._dirty.discard(key)
            self._releases[key] = connection_id
            self.published.clear()
            self._wake.set()

    async def lookup(self, serial: str, *, fresh: bool = False) -> list[RouteEntry]:
        key = serial.lower()
        cache = self.cache
        if cache is not None:
            if fresh:
                cache.drop(key)
            else:
                kept = cache.get(key)
                if kept is not None:
                    return kept
        return await self._flights.run(key, lambda: self._lookup_and_keep(key))

    async def _lookup_and_keep(self, serial: str) -> list[RouteEntry]:
        if self.cache is None:
            return await self._lookup(serial)
        self.cache.asking(serial)
        try:
            entries = await self._lookup(serial)
        except BaseException:
            self.cache.gave_up(serial)
            raise
        self.cache.answered(serial, entries)
        return entries

    async def _lookup(self, serial: str) -> list[RouteEntry]:
        try:
            fields = await self._lookup_script(keys=[KEY_PREFIX + serial])
        except (RedisError, OSError) as error:
            self._set_available(False, error)
            raise DirectoryUnavailable(
                f"The route directory ({self.url_shown}) cannot be used now: "
                f"{failure(error)}; appliances connected to other relay nodes cannot be "
                "reached from this node until it is back."
            ) from None
        entries = []
        for node, value in zip(fields[::2], fields[1::2], strict=True):
            if node == self.node_id:
                continue
            generation, connection_id, _, peer = value.split(" ", 3)
            entries.append(RouteEntry(serial, node, connection_id, int(generation), peer))
        return newest_first(entries)

    # -- the writer -------------------------------------------------------------------

    def _refresh_delay(self) -> float:
        return self.ttl / 3 * self._rng.uniform(0.8, 1.2)

    async def _writer(self) -> None:
        """Write what changed at once; everything every third of the TTL; wait out outages."""
        loop = asyncio.get_running_loop()
        next_refresh = loop.time()
        while True:
            everything = loop.time() >= next_refresh or not self.available
            self._wake.clear()  # a claim made while we write wakes the next round
            try:
                await self._write(everything)
            except (RedisError, OSError, NoScriptError) as error:
                self._set_available(False, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), RETRY_DELAY)
                continue
            if everything:
                next_refresh = loop.time() + self._refresh_delay()
                self.refreshed.set()
            self._set_available(True, None)
            if self._dirty or self._releases:
                continue
            self.published.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_refresh - loop.time()))

    async def _write(self, everything: bool) -> None:
        serials = list(self._claims) if everything else list(self._dirty)
        releases = dict(self._releases)
        if not serials and not releases:
            if everything:
                await self._client.ping()
            return
        claims = [(serial, self._claims[serial]) for serial in serials]
        try:
            written = await self._send(claims, list(releases.items()))
        except NoScriptError:  # Redis restarted or flushed its scripts: load them, send again
            for script in (self._claim_script, self._release_script):
                await self._client.script_load(script.script)
            written = await self._send(claims, list(releases.items()))
        for (serial, claim), generation in zip(claims, written, strict=True):
            if generation < 0:
                self.refused.append(serial)
            else:
                claim.generation = generation
            if self._claims.get(serial) is claim:
                self._dirty.discard(serial)
        for serial, connection_id in releases.items():
            if self._releases.get(serial) == connection_id:
                del self._releases[serial]

    async def _send(
        self, claims: list[tuple[str, _Claim]], releases: list[tuple[str, str]]
    ) -> list[int]:
        """Every write and hint in one round trip, BATCH routes per script call; returns the
        generation written per claim (-1 where Redis holds a newer one).

        EVALSHA straight into the pipeline: redis-py's script objects would ask `SCRIPT
        EXISTS` first, a second round trip per refresh."""
        claim_sha, release_sha = self._claim_script.sha, self._release_script.sha
        async with self._client.pipeline(transaction=False) as pipe:
            for start in range(0, len(claims), BATCH):
                keys, args = self._claim_call(claims[start : start + BATCH])
                pipe.evalsha(claim_sha, len(keys), *keys, *args)
            for start in range(0, len(releases), BATCH):
                keys, connections = self._release_call(releases[start : start + BATCH])
                pipe.evalsha(release_sha, len(keys), *keys, *connections)
            for serial in [s for s, c in claims if c.generation == 0] + [s for s, _ in releases]:
                pipe.publish(HINT_CHANNEL, serial)
            results = await pipe.execute()
        return [int(w) for batch in results[: -(-len(claims) // BATCH)] for w in batch]

    def _claim_call(self, claims: list[tuple[str, _Claim]]) -> tuple[list[str], list[str | int]]:
        """The claim script's keys and arguments for up to BATCH routes."""
        args: list[str | int] = [self.node_id, int(self.ttl * 1000), self.peer_address]
        for _, claim in claims:
            args += (claim.connection_id, claim.generation)
        return [GENERATION_KEY, *(KEY_PREFIX + serial for serial, _ in claims)], args

    def _release_call(self, releases: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
        """The release script's keys and arguments for up to BATCH routes."""
        keys = [KEY_PREFIX + serial for serial, _ in releases]
        return keys, [self.node_id, *(connection_id for _, connection_id in releases)]

    async def claim_now(self, claims: list[tuple[str, str, int]]) -> list[int]:
        """Write (serial, connection, generation) claims at once, outside the writer: what a
        delayed write from this node would do (tests check the compare-and-set with it)."""
        keys, args = self._claim_call([(s, _Claim(c, g)) for s, c, g in claims])
        written: list[int] = await self._claim_script(keys=keys, args=args)
        return written

    def _set_available(self, available: bool, error: BaseException | None) -> None:
        if available == self.available:
            return
        self.available = available
        if available:
            log.warning(
                "route directory %s reachable; every route of %s published",
                self.url_shown,
                self.node_id,
            )
        else:
            log.warning(
                "route directory %s cannot be used: %s; local routes keep serving",
                self.url_shown,
                failure(error) if error is not None else "unknown",
            )
        if self._on_state is not None:
            self._on_state(available, failure(error) if error is not None else "")
