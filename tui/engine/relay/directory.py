"""The route directory: which relay node holds a tunnel for a serial, behind a small interface.

One node keeps its routes in memory and needs nothing else (`MemoryDirectory`); a cluster
shares them through Redis (`redis_directory.RedisDirectory`). Another store (etcd) only has
to implement `RouteDirectory`. A serial may have one entry per node: an appliance with
`relay.connections = 2` legitimately holds tunnels on two nodes. Readers try the newest
generation first; a node only ever writes its own entry, so a stale node cannot take a route
back from the node a reconnect went to.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

DEFAULT_ROUTE_TTL = 30.0


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """One node's claim on a serial: where to hop to reach it."""

    serial: str
    node_id: str
    connection_id: str
    generation: int
    peer_address: str
    """host:port of the node's peer listener (the node-to-node hop)."""


class DirectoryUnavailable(Exception):
    """The shared directory cannot be asked now (Redis down); local routes still serve."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


class RouteDirectory(Protocol):
    """What a relay node needs from the directory."""

    node_id: str

    async def start(self) -> None:
        """Connect and begin refreshing this node's entries."""

    async def close(self) -> None:
        """Delete this node's entries (clean shutdown) and stop."""

    def claim(self, serial: str, connection_id: str) -> None:
        """This node now holds `serial` over `connection_id` (written in the background)."""

    def release(self, serial: str, connection_id: str) -> None:
        """This node no longer holds `serial` over `connection_id`."""

    async def lookup(self, serial: str, *, fresh: bool = False) -> list[RouteEntry]:
        """Other nodes' live entries for `serial`, newest generation first (`fresh`: ask the
        store itself, not an answer kept from before)."""


class MemoryStore:
    """Entries shared by the in-process nodes that use it (one node: only itself)."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, RouteEntry]] = {}
        self.generations = itertools.count(1)


class MemoryDirectory:
    """The embedded default: routes in memory, nothing to run, nothing to configure."""

    def __init__(
        self, node_id: str = "local", peer_address: str = "", store: MemoryStore | None = None
    ) -> None:
        self.node_id = node_id
        self.peer_address = peer_address
        self._store = store or MemoryStore()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for entries in self._store.entries.values():
            entries.pop(self.node_id, None)

    def claim(self, serial: str, connection_id: str) -> None:
        entries = self._store.entries.setdefault(serial.lower(), {})
        entries[self.node_id] = RouteEntry(
            serial.lower(),
            self.node_id,
            connection_id,
            next(self._store.generations),
            self.peer_address,
        )

    def release(self, serial: str, connection_id: str) -> None:
        entries = self._store.entries.get(serial.lower(), {})
        entry = entries.get(self.node_id)
        if entry is not None and entry.connection_id == connection_id:
            del entries[self.node_id]

    async def lookup(self, serial: str, *, fresh: bool = False) -> list[RouteEntry]:
        entries = self._store.entries.get(serial.lower(), {})
        return newest_first(e for e in entries.values() if e.node_id != self.node_id)


def newest_first(entries: Iterable[RouteEntry]) -> list[RouteEntry]:
    """Entries ordered so the latest reconnect is tried first."""
    return sorted(entries, key=lambda e: -e.generation)


class SingleFlight:
    """Concurrent lookups of the same key share one call (no thundering herd on the store)."""

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[list[RouteEntry]]] = {}
        self.calls = 0
        """How many lookups actually reached the store (for tests and benchmarks)."""

    async def run(
        self, key: str, call: Callable[[], Awaitable[list[RouteEntry]]]
    ) -> list[RouteEntry]:
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._call(key, call))
            self._flights[key] = flight
        return await asyncio.shield(flight)

    async def _call(
        self, key: str, call: Callable[[], Awaitable[list[RouteEntry]]]
    ) -> list[RouteEntry]:
        self.calls += 1
        try:
            return await call()
        finally:
            del self._flights[key]
