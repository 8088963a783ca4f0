"""Route hints (pub/sub): a node keeps its lookups and drops one the moment a hint says the
serial changed; a cut subscriber changes nothing but speed. Real Redis, real node processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
import redis.asyncio as aioredis
import tomli_w

from tests.cluster.conftest import RunningCluster, published
from tests.conftest import LAB_C, LAB_C_SERIAL
from tests.recorder import EventRecorder
from tui.engine.engine import Engine
from tui.engine.inventory import load_inventory
from tui.engine.relay.directory import RouteEntry
from tui.engine.relay.redis_directory import RedisDirectory
from tui.engine.relay.route_hints import HEALTHY_WITHIN, LookupCache
from tui.engine.states import TunnelState
from tui.engine.toml_source import read_toml

SERIAL = "SN-HINT-1"


@pytest.fixture
async def nodes(redis_url: str) -> AsyncIterator[list[RedisDirectory]]:
    """Three nodes that listen for hints: a and b hold routes, c looks them up."""
    clients = [
        RedisDirectory(name, f"127.0.0.9:{i}", redis_url, ttl=30.0, hints=True)
        for i, name in enumerate(["node-a", "node-b", "node-c"], 1)
    ]
    for client in clients:
        await client.start()
    try:
        for client in clients:
            assert client.cache is not None
            await asyncio.wait_for(client.cache.ready.wait(), 10)
        yield clients
    finally:
        for client in clients:
            await client.close()


async def _hints(cache: LookupCache, count: int) -> None:
    """Wait until `cache` has received `count` hints in all."""
    async with asyncio.timeout(10):
        while cache.hints < count:
            cache.hinted.clear()
            await cache.hinted.wait()


def _ids(entries: list[RouteEntry]) -> list[str]:
    return [entry.node_id for entry in entries]


async def test_a_route_moving_to_another_node_is_seen_at_once_by_a_third(
    nodes: list[RedisDirectory],
) -> None:
    a, b, c = nodes
    assert c.cache is not None
    a.claim(SERIAL, "conn-1")
    await a.published.wait()
    await _hints(c.cache, 1)
    assert _ids(await c.lookup(SERIAL)) == ["node-a"]
    asked = c.lookups
    assert _ids(await c.lookup(SERIAL)) == ["node-a"]
    assert c.lookups == asked  # kept: Redis was not asked again

    seen = c.cache.hints
    b.claim(SERIAL, "conn-2")  # the appliance re-homed to b
    a.release(SERIAL, "conn-1")
    await asyncio.gather(a.published.wait(), b.published.wait())
    await _hints(c.cache, seen + 2)

    assert _ids(await c.lookup(SERIAL)) == ["node-b"]  # at once, not after the TTL
    assert c.lookups == asked + 1


async def test_an_absent_serial_is_kept_as_absent_until_it_connects(
    nodes: list[RedisDirectory],
) -> None:
    a, _, c = nodes
    assert c.cache is not None
    assert await c.lookup("SN-LATER") == []
    asked = c.lookups
    for _ in range(20):  # an engineer retrying does not load Redis
        assert await c.lookup("SN-LATER") == []
    assert c.lookups == asked

    seen = c.cache.hints
    a.claim("SN-LATER", "conn-1")
    await a.published.wait()
    await _hints(c.cache, seen + 1)
    assert _ids(await c.lookup("SN-LATER")) == ["node-a"]


async def test_with_the_subscriber_cut_every_lookup_is_still_right(
    nodes: list[RedisDirectory], redis_url: str
) -> None:
    a, b, c = nodes
    assert c.cache is not None
    a.claim(SERIAL, "conn-1")
    await a.published.wait()
    await _hints(c.cache, 1)
    assert _ids(await c.lookup(SERIAL)) == ["node-a"]  # kept

    # Redis drops every subscriber (as it drops a slow one); hints sent now are lost.
    admin = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert await admin.client_kill_filter(_type="pubsub") >= 3
    finally:
        await admin.aclose()
    await asyncio.wait_for(c.cache.was_cut.wait(), 10)
    b.claim(SERIAL, "conn-2")
    a.release(SERIAL, "conn-1")
    await asyncio.gather(a.published.wait(), b.published.wait())

    asked = c.lookups
    assert _ids(await c.lookup(SERIAL)) == ["node-b"]
    assert _ids(await c.lookup(SERIAL, fresh=True)) == ["node-b"]
    assert c.lookups == asked + 2  # nothing kept across the cut: Redis answered

    await asyncio.wait_for(c.cache.ready.wait(), 10)  # subscribed again on its own
    assert _ids(await c.lookup(SERIAL)) == ["node-b"]


def test_kept_answers_are_not_used_when_the_channel_falls_silent() -> None:
    now = [100.0]
    cache = LookupCache(max_age=10.0, clock=lambda: now[0])
    entry = RouteEntry("sn-1", "node-a", "c1", 1, "127.0.0.1:1")
    cache.subscribed()
    cache.asking("sn-1")
    cache.answered("sn-1", [entry])
    assert cache.get("sn-1") == [entry]
    now[0] += HEALTHY_WITHIN + 0.1  # no hint, no pong: a partition looks like this
    assert cache.get("sn-1") is None
    cache.heard()  # the pong came: everything before it was delivered in order
    assert cache.get("sn-1") == [entry]
    now[0] += 10.1  # older than max_age
    cache.heard()
    assert cache.get("sn-1") is None


def test_a_hint_during_a_lookup_keeps_its_answer_out() -> None:
    cache = LookupCache(max_age=10.0)
    cache.subscribed()
    cache.asking("sn-1")
    cache.hint("sn-1")  # the serial changed while Redis was answering
    cache.answered("sn-1", [])
    assert cache.get("sn-1") is None


async def test_an_engineer_on_a_third_node_follows_a_re_homed_appliance_at_once(
    cluster: RunningCluster, tmp_path: Path
) -> None:
    data, _ = read_toml(cluster.info.inventory)
    data["relay"]["connections"] = 1
    inventory = cluster.info.directory / "one-tunnel.toml"
    inventory.write_text(tomli_w.dumps(data), encoding="utf-8")
    engine = Engine(load_inventory(inventory), tmp_path / "state", first_retry_delay=0.2)
    events = EventRecorder()
    engine.subscribe(events)
    await engine.start()
    try:
        await engine.enable(LAB_C)
        up = await events.wait_state(LAB_C, TunnelState.ESTABLISHED, timeout=30)
        old = cluster.node(up.address)
        await published(cluster, LAB_C_SERIAL, 1)
        landing, newer = [n for n in cluster.lab.nodes if n is not old]
        engineer = await asyncssh.connect(
            landing.address,
            cluster.info.relay_ports["22"],
            username="alice",
            client_keys=[asyncssh.read_private_key(cluster.info.engineer_key)],
            known_hosts=str(cluster.info.known_hosts),
            agent_path=None,
            config=None,
        )
        async with engineer:
            reader, writer = await engineer.open_connection(LAB_C_SERIAL, 22)
            assert (await reader.readline()).startswith(b"SSH-2.0-")  # the real appliance
            writer.close()  # the landing node now keeps "on the old node"

            # The appliance comes back on the third node; its old connection looks alive.
            key = asyncssh.read_private_key(tmp_path / "state" / "keys" / f"{LAB_C}_ed25519")
            newcomer = await asyncssh.connect(
                newer.address,
                cluster.info.relay_ports["443"],
                username=LAB_C_SERIAL,
                client_keys=[key],
                known_hosts=str(cluster.info.known_hosts),
                agent_path=None,
                config=None,
            )

            async def greet(
                reader: asyncssh.SSHReader[bytes], writer: asyncssh.SSHWriter[bytes]
            ) -> None:
                writer.write(b"SSH-2.0-newcomer\r\n")
                writer.close()

            async with newcomer:
                await newcomer.start_server(
                    lambda host, port: greet, LAB_C_SERIAL, 22, encoding=None
                )
                await published(cluster, LAB_C_SERIAL, 2)
                reader, writer = await engineer.open_connection(LAB_C_SERIAL, 22)
                assert await reader.readline() == b"SSH-2.0-newcomer\r\n"
                writer.close()
        hops = [
            r["hop_node"] for r in cluster.audit(landing) if r["action"] == "engineer-session-start"
        ]
        assert hops == [old.node_id, newer.node_id]
        assert not [r for r in cluster.audit(landing) if r["action"] == "hop-failed"]
    finally:
        await engine.shutdown()
