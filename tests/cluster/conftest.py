"""A real relay cluster for the tests: Redis and three `rac relay` processes on 127.0.0.1-3.

Cluster tests need Debian's redis-server: they skip without it, and fail instead in CI
(`RAC_REQUIRE_REDIS=1`, set by `.ci/run`), like the OpenSSH tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.recorder import EventRecorder
from tui.engine.engine import Engine
from tui.engine.errors import RacError
from tui.engine.events import StateChanged
from tui.engine.inventory import load_inventory
from tui.engine.lab.cluster_lab import ClusterLab, LabNode, find_redis_server
from tui.engine.lab.lab import LabInfo
from tui.engine.relay.directory import RouteEntry
from tui.engine.relay.redis_directory import RedisDirectory
from tui.engine.states import TunnelState
from tui.engine.support_client import SupportRoute

# Short enough for a test to watch entries expire, long enough for a busy 2-core machine.
TEST_ROUTE_TTL = 4.0


def require_redis() -> None:
    """Skip without redis-server; in CI (RAC_REQUIRE_REDIS=1) fail instead."""
    try:
        find_redis_server()
    except RacError as error:
        if os.environ.get("RAC_REQUIRE_REDIS") == "1":
            pytest.fail(f"redis-server is required here: {error.sentence}")
        pytest.skip(error.sentence)


@dataclass
class RunningCluster:
    """A started cluster lab, with what tests ask of it."""

    lab: ClusterLab
    info: LabInfo

    def node(self, address: str) -> LabNode:
        """The node listening on `address`."""
        return next(node for node in self.lab.nodes if node.address == address)

    def audit(self, node: LabNode) -> list[dict[str, Any]]:
        """A node's relay audit log, parsed."""
        path = node.config.parent / "relay-audit.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def route_to(self, node: LabNode, tmp: Path) -> SupportRoute:
        """What an engineer who landed on `node` uses."""
        info = self.info
        return SupportRoute(
            node.address,
            info.relay_ports["22"],
            info.known_hosts,
            info.engineer_key,
            info.support_ca_key,
            "alice",
            tmp / "appliance_known_hosts",
        )

    def observer(self) -> RedisDirectory:
        """A directory client that holds nothing: it sees every node's entries."""
        return self.lab.directory_client("observer", ttl=TEST_ROUTE_TTL)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[RunningCluster]:
    """Redis and three relay nodes in a temporary directory."""
    require_redis()
    lab = ClusterLab(tmp_path / "lab", relays=3, route_ttl=TEST_ROUTE_TTL)
    info = await lab.start()
    try:
        yield RunningCluster(lab, info)
    finally:
        await lab.close()


@pytest.fixture
async def redis_url(tmp_path: Path) -> AsyncIterator[str]:
    """Just a Redis (no relay nodes), for the directory's own tests."""
    require_redis()
    lab = ClusterLab(tmp_path / "redis-only")
    await lab.start_redis(tmp_path)
    try:
        yield lab.redis_url
    finally:
        await lab.stop_redis()


@pytest.fixture
async def cluster_engine(
    cluster: RunningCluster, tmp_path: Path
) -> AsyncIterator[tuple[Engine, EventRecorder]]:
    """An engine on the cluster lab's inventory (two tunnels per appliance)."""
    engine = Engine(
        load_inventory(cluster.info.inventory), tmp_path / "state", first_retry_delay=0.2
    )
    recorder = EventRecorder()
    engine.subscribe(recorder)
    await engine.start()
    try:
        yield engine, recorder
    finally:
        with contextlib.suppress(Exception):
            await engine.shutdown()


async def both_links_up(engine: Engine, events: EventRecorder, name: str) -> tuple[str, str]:
    """Wait until both of `name`'s tunnels are up; their node addresses."""
    await events.wait_for(
        lambda e: (
            isinstance(e, StateChanged)
            and e.appliance == name
            and len(e.links) == 2
            and all(link.state is TunnelState.ESTABLISHED for link in e.links)
        ),
        timeout=30,
    )
    links = engine.status(name).links
    return links[0].address, links[1].address


async def published(
    cluster: RunningCluster, serial: str, nodes: int, timeout: float = 10.0
) -> list[RouteEntry]:
    """Wait until `nodes` nodes have published `serial`; their entries, newest first."""
    observer = cluster.observer()
    try:
        async with asyncio.timeout(timeout):
            while True:
                entries = await observer.lookup(serial)
                if len(entries) == nodes:
                    return entries
                await wait_a_little()
    finally:
        await observer.close()


async def wait_a_little() -> None:
    """Poll interval for state that lives in another process (Redis): no event to wait on."""
    await asyncio.sleep(0.05)
