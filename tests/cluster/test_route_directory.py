"""The Redis route directory on its own: generations, compare-and-set, single flight."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tui.engine.relay.directory import MemoryDirectory, MemoryStore
from tui.engine.relay.redis_directory import (
    RedisDirectory,
    redacted,
)


@pytest.fixture
async def nodes(redis_url: str) -> AsyncIterator[list[RedisDirectory]]:
    """Three directory clients on the cluster's Redis, as nodes a, b and an observer."""
    clients = [
        RedisDirectory(name, f"127.0.0.9:{i}", redis_url, ttl=4.0)
        for i, name in enumerate(["node-a", "node-b", "observer"], 1)
    ]
    for client in clients:
        await client.start()
    try:
        yield clients
    finally:
        for client in clients:
            await client.close()


async def test_a_reconnect_to_another_node_wins_and_the_old_node_cannot_take_it_back(
    nodes: list[RedisDirectory],
) -> None:
    a, b, observer = nodes
    a.claim("SN-0001", "conn-1")
    await a.published.wait()
    b.claim("SN-0001", "conn-2")  # the agent reconnected to b
    await b.published.wait()
    first = await observer.lookup("sn-0001")
    assert [e.node_id for e in first] == ["node-b", "node-a"]

    # a still thinks it holds the route and keeps refreshing it: b stays first.
    a.published.clear()
    a._wake.set()  # force a refresh now instead of waiting a third of the TTL
    await a.published.wait()
    again = await observer.lookup("sn-0001")
    assert [e.node_id for e in again] == ["node-b", "node-a"]
    assert again[1].generation == first[1].generation < again[0].generation

    # Compare-and-set: a write carrying an older generation than the entry holds is refused.
    a.claim("SN-0001", "conn-3")  # a newer connection on a itself
    await a.published.wait()
    newest = {e.node_id: e for e in await observer.lookup("sn-0001")}["node-a"]
    stale = await a.claim_now([("sn-0001", "conn-1", first[1].generation)])  # a delayed write
    assert stale == [-1]
    kept = {e.node_id: e for e in await observer.lookup("sn-0001")}["node-a"]
    assert (kept.connection_id, kept.generation) == ("conn-3", newest.generation)


async def test_release_removes_only_the_nodes_own_connection(nodes: list[RedisDirectory]) -> None:
    a, _, observer = nodes
    a.claim("SN-0002", "conn-1")
    a.claim("SN-0002", "conn-2")  # the same node took over its own route
    a.release("SN-0002", "conn-1")  # the old connection's close arrives late
    await a.published.wait()
    assert [e.connection_id for e in await observer.lookup("sn-0002")] == ["conn-2"]
    a.release("SN-0002", "conn-2")
    await a.published.wait()
    assert await observer.lookup("sn-0002") == []


async def test_concurrent_lookups_of_an_absent_serial_ask_redis_once(
    nodes: list[RedisDirectory],
) -> None:
    observer = nodes[2]
    before = observer.lookups
    results = await asyncio.gather(*(observer.lookup("SN-ABSENT") for _ in range(50)))
    assert all(result == [] for result in results)
    assert observer.lookups - before == 1


async def test_a_clean_shutdown_deletes_the_nodes_entries(nodes: list[RedisDirectory]) -> None:
    a, _, observer = nodes
    a.claim("SN-0003", "conn-1")
    await a.published.wait()
    assert len(await observer.lookup("sn-0003")) == 1
    await a.close()
    assert await observer.lookup("sn-0003") == []


def test_the_redis_password_is_never_shown() -> None:
    assert redacted("redis://:s3cret@10.0.0.1:6379/0") == "redis://:***@10.0.0.1:6379/0"
    assert redacted("rediss://rac:s3cret@r.example:6380") == "rediss://rac:***@r.example:6380"
    assert redacted("redis://10.0.0.1:6379") == "redis://10.0.0.1:6379"


async def test_one_node_needs_nothing_the_memory_directory() -> None:
    store = MemoryStore()
    a, b = MemoryDirectory("a", "x:1", store), MemoryDirectory("b", "x:2", store)
    a.claim("SN-1", "c1")
    b.claim("SN-1", "c2")
    assert [e.node_id for e in await a.lookup("sn-1")] == ["b"]
    assert [e.node_id for e in await MemoryDirectory("c", "", store).lookup("sn-1")] == ["b", "a"]
    assert await MemoryDirectory().lookup("sn-1") == []  # one node alone: nobody else
    await b.close()
    assert await a.lookup("sn-1") == []
