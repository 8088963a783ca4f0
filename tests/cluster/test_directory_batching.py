"""The directory's refresh in batches: every route of a node in one round trip, a few hundred
routes per script call, each route still compare-and-set on its own."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tui.engine.relay.redis_directory import BATCH, RedisDirectory

ROUTES = 2 * BATCH + 100
"""More than two batches, so a refresh needs three script calls."""


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client on the same Redis, to read its command counters."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def _calls(raw: aioredis.Redis) -> dict[str, int]:
    """Redis's per-command call counts since the last CONFIG RESETSTAT."""
    stats = await raw.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}


async def _next_refresh(node: RedisDirectory) -> None:
    """Wait for the node's next full refresh (every TTL/3 ± 20 %)."""
    node.refreshed.clear()
    await asyncio.wait_for(node.refreshed.wait(), node.ttl)


async def test_a_refresh_of_many_routes_is_a_few_script_calls_and_all_are_readable(
    redis_url: str, raw: aioredis.Redis
) -> None:
    node = RedisDirectory("node-a", "127.0.0.9:1", redis_url, ttl=3.0)
    observer = RedisDirectory("observer", "127.0.0.9:3", redis_url, ttl=30.0)
    await node.start()
    await observer.start()
    try:
        await node.published.wait()  # the first (empty) round is behind us
        for i in range(ROUTES):
            node.claim(f"SN-{i:05d}", f"conn-{i}")
        await node.published.wait()
        first = {i: await observer.lookup(f"sn-{i:05d}") for i in (0, BATCH, ROUTES - 1)}
        assert all(len(entries) == 1 for entries in first.values())

        await _next_refresh(node)  # the claims' first write may have been a refresh
        await raw.config_resetstat()
        await _next_refresh(node)
        calls = await _calls(raw)
        assert calls.get("evalsha", 0) == math.ceil(ROUTES / BATCH)
        assert "script|exists" not in calls and "eval" not in calls
        # A refresh keeps each route's generation and moves its deadline on.
        for i, entries in first.items():
            again = await observer.lookup(f"sn-{i:05d}")
            assert [(e.connection_id, e.generation) for e in again] == [
                (f"conn-{i}", entries[0].generation)
            ]
    finally:
        await node.close()
        await observer.close()
    assert await raw.keys("rac:route:*") == []  # a clean shutdown releases every batch


async def test_a_stale_claim_in_a_batch_is_refused_alone(redis_url: str) -> None:
    node = RedisDirectory("node-a", "127.0.0.9:1", redis_url, ttl=30.0)
    observer = RedisDirectory("observer", "127.0.0.9:3", redis_url, ttl=30.0)
    try:
        [old] = await node.claim_now([("sn-1", "conn-old", 0)])
        [new] = await node.claim_now([("sn-1", "conn-new", 0)])
        written = await node.claim_now(
            [("sn-2", "conn-2", 0), ("sn-1", "conn-old", old), ("sn-3", "conn-3", 0)]
        )
        assert written[1] == -1 and old < new < written[0] < written[2]
        kept = (await observer.lookup("sn-1"))[0]
        assert (kept.connection_id, kept.generation) == ("conn-new", new)
    finally:
        await node.close()
        await observer.close()


async def test_scripts_flushed_from_redis_are_loaded_again_without_an_outage(
    redis_url: str, raw: aioredis.Redis
) -> None:
    states: list[bool] = []
    node = RedisDirectory(
        "node-a", "127.0.0.9:1", redis_url, ttl=30.0, on_state=lambda up, _: states.append(up)
    )
    observer = RedisDirectory("observer", "127.0.0.9:3", redis_url, ttl=30.0)
    await node.start()
    try:
        await node.published.wait()
        await raw.script_flush()  # what a Redis restarted without its data looks like
        node.claim("SN-7", "conn-7")
        await node.published.wait()
        assert [e.connection_id for e in await observer.lookup("sn-7")] == ["conn-7"]
        assert states == [True]
    finally:
        await node.close()
        await observer.close()
