"""A relay cluster as engineers and appliances meet it: real Redis, real node processes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncssh
import pytest
import tomli_w

from tests.cluster.conftest import (
    TEST_ROUTE_TTL,
    RunningCluster,
    both_links_up,
    published,
    wait_a_little,
)
from tests.conftest import LAB_C, LAB_C_SERIAL
from tests.recorder import EventRecorder
from tui.engine.engine import Engine
from tui.engine.errors import RacError
from tui.engine.events import StateChanged
from tui.engine.inventory import load_inventory
from tui.engine.states import TunnelState
from tui.engine.support_client import open_support_connection
from tui.engine.toml_source import read_toml
from tui.fleet_model import ApplianceView
from tui.fleet_rows import fleet_row


async def test_an_engineer_on_one_node_reaches_an_appliance_on_another(
    cluster: RunningCluster, cluster_engine: tuple[Engine, EventRecorder], tmp_path: Path
) -> None:
    engine, events = cluster_engine
    seed = await engine.enable(LAB_C)
    held = await both_links_up(engine, events, LAB_C)
    assert held[0] != held[1]
    assert fleet_row(ApplianceView(engine.status(LAB_C)), time.time()).relay == "2 nodes"
    assert [link["state"] for link in engine.status(LAB_C).to_json()["links"]] == [  # type: ignore[attr-defined]
        "ESTABLISHED",
        "ESTABLISHED",
    ]
    await published(cluster, LAB_C_SERIAL, 2)
    landing = next(n for n in cluster.lab.nodes if n.address not in held)

    relay, appliance, _ = await open_support_connection(
        cluster.route_to(landing, tmp_path), LAB_C_SERIAL, seed
    )
    result = await appliance.run("status")
    assert "ENABLED" in str(result.stdout)
    appliance.close()
    relay.close()

    starts = [r for r in cluster.audit(landing) if r["action"] == "engineer-session-start"]
    assert starts and starts[-1]["serial"].lower() == LAB_C_SERIAL.lower()
    hop = starts[-1]["hop_node"]
    holder = next(n for n in cluster.lab.nodes if n.node_id == hop)
    assert holder.address in held
    far = [r for r in cluster.audit(holder) if r["action"] == "engineer-session-start"]
    assert far and far[-1]["via_node"] == landing.node_id


async def test_killing_a_node_costs_the_engineer_one_reconnect_and_the_appliance_nothing(
    cluster: RunningCluster, cluster_engine: tuple[Engine, EventRecorder], tmp_path: Path
) -> None:
    engine, events = cluster_engine
    seed = await engine.enable(LAB_C)
    held = await both_links_up(engine, events, LAB_C)
    await published(cluster, LAB_C_SERIAL, 2)
    landing = next(n for n in cluster.lab.nodes if n.address not in held)
    route = cluster.route_to(landing, tmp_path)
    relay, appliance, _ = await open_support_connection(route, LAB_C_SERIAL, seed)
    hop = [r for r in cluster.audit(landing) if r["action"] == "engineer-session-start"][-1]
    victim = next(n for n in cluster.lab.nodes if n.node_id == hop["hop_node"])
    mark = events.mark

    cluster.lab.kill_node(victim)

    await asyncio.wait_for(appliance.wait_closed(), 30)  # the session through it ends
    relay.close()
    started = time.monotonic()
    relay, appliance, _ = await open_support_connection(route, LAB_C_SERIAL, seed)
    assert "ENABLED" in str((await appliance.run("status")).stdout)
    assert time.monotonic() - started < 5.0  # at once, not after the TTL
    appliance.close()
    relay.close()
    # The appliance never looked down: one tunnel carried it throughout.
    composite = [
        e.state
        for e in events.events[mark:]
        if isinstance(e, StateChanged) and e.appliance == LAB_C
    ]
    assert all(state.is_up for state in composite), composite
    assert engine.status(LAB_C).state.is_up
    assert fleet_row(ApplianceView(engine.status(LAB_C)), time.time()).relay in (
        "1 of 2 nodes",
        "2 nodes",
    )  # "2 nodes" again once the lost tunnel re-homed


async def test_a_killed_nodes_routes_disappear_within_the_ttl(
    cluster: RunningCluster, cluster_engine: tuple[Engine, EventRecorder]
) -> None:
    engine, events = cluster_engine
    await engine.enable(LAB_C)
    held = await both_links_up(engine, events, LAB_C)
    entries = await published(cluster, LAB_C_SERIAL, 2)
    victim = cluster.node(held[0])
    assert victim.node_id in {e.node_id for e in entries}

    cluster.lab.kill_node(victim)
    killed = time.monotonic()
    observer = cluster.observer()
    try:
        while victim.node_id in {e.node_id for e in await observer.lookup(LAB_C_SERIAL)}:
            assert time.monotonic() - killed < TEST_ROUTE_TTL + 1.0
            await wait_a_little()
    finally:
        await observer.close()
    assert time.monotonic() - killed <= TEST_ROUTE_TTL + 1.0


async def test_a_redis_restart_cuts_nothing_and_the_directory_comes_back(
    cluster: RunningCluster, cluster_engine: tuple[Engine, EventRecorder], tmp_path: Path
) -> None:
    engine, events = cluster_engine
    seed = await engine.enable(LAB_C)
    held = await both_links_up(engine, events, LAB_C)
    await published(cluster, LAB_C_SERIAL, 2)
    landing = next(n for n in cluster.lab.nodes if n.address not in held)
    route = cluster.route_to(landing, tmp_path)
    relay, appliance, _ = await open_support_connection(route, LAB_C_SERIAL, seed)
    mark = events.mark

    await cluster.lab.stop_redis()
    # Meanwhile: the open session runs on; a new cross-node lookup fails in words.
    assert "ENABLED" in str((await appliance.run("status")).stdout)
    with pytest.raises(RacError, match=r"route directory .* cannot be reached"):
        await open_support_connection(route, LAB_C_SERIAL, seed)
    # An engineer landing on a node that holds the appliance is not affected at all.
    local_relay, local_appliance, _ = await open_support_connection(
        cluster.route_to(cluster.node(held[0]), tmp_path), LAB_C_SERIAL, seed
    )
    local_appliance.close()
    local_relay.close()

    await cluster.lab.restart_redis()  # empty: it saved nothing
    back = time.monotonic()
    await published(cluster, LAB_C_SERIAL, 2, timeout=TEST_ROUTE_TTL / 3 * 1.2 + 2.0)
    assert time.monotonic() - back <= TEST_ROUTE_TTL / 3 * 1.2 + 2.0
    assert "ENABLED" in str((await appliance.run("status")).stdout)
    appliance.close()
    relay.close()
    composite = [
        e.state
        for e in events.events[mark:]
        if isinstance(e, StateChanged) and e.appliance == LAB_C
    ]
    assert all(state.is_up for state in composite), composite


async def test_a_reconnect_on_another_node_takes_the_route_from_a_stale_node(
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
        stale = cluster.node(up.address)
        await published(cluster, LAB_C_SERIAL, 1)
        # The appliance comes back on another node while its old connection looks alive.
        newer, bystander = [n for n in cluster.lab.nodes if n is not stale]
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
            await newcomer.start_server(lambda host, port: greet, LAB_C_SERIAL, 22, encoding=None)
            entries = await published(cluster, LAB_C_SERIAL, 2)
            assert [e.node_id for e in entries] == [newer.node_id, stale.node_id]
            # The stale node refreshes its own entry for a full refresh period; it never
            # gets in front of the newer one.
            observer = cluster.observer()
            try:
                deadline = time.monotonic() + TEST_ROUTE_TTL / 3 * 1.3
                while time.monotonic() < deadline:
                    order = [e.node_id for e in await observer.lookup(LAB_C_SERIAL)]
                    assert order[0] == newer.node_id, order
                    await wait_a_little()
            finally:
                await observer.close()
            # An engineer anywhere else lands on the newcomer.
            relay = await asyncssh.connect(
                bystander.address,
                cluster.info.relay_ports["22"],
                username="alice",
                client_keys=[asyncssh.read_private_key(cluster.info.engineer_key)],
                known_hosts=str(cluster.info.known_hosts),
                agent_path=None,
                config=None,
            )
            async with relay:
                reader, writer = await relay.open_connection(LAB_C_SERIAL, 22)
                assert await reader.readline() == b"SSH-2.0-newcomer\r\n"
                writer.close()
    finally:
        await engine.shutdown()
