"""A relay node in a cluster: publishes its routes, reaches other nodes' routes over the hop.

The relay calls four hooks: `start`, `close`, `route_changed` (a route came or went) and
`join_remote` (an engineer asked for a serial this node does not hold).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import asyncssh
from asyncssh.session import SSHTCPSession

from tui.engine.channel_bridge import CountingForwarder, as_session
from tui.engine.keys import fingerprint
from tui.engine.relay.cluster_config import ClusterConfig
from tui.engine.relay.directory import DirectoryUnavailable, RouteDirectory, RouteEntry
from tui.engine.relay.peer_hop import PeerListener, PeerPool, Relay
from tui.engine.relay.routes import Route

if TYPE_CHECKING:
    from tui.engine.relay.redis_directory import RedisTls


def connection_id(route: Route) -> str:
    """Names the agent connection that carries a route (unique while it lives)."""
    return f"{id(route.conn):x}"


class ClusterNode:
    """The cluster side of one relay process."""

    def __init__(
        self, config: ClusterConfig, relay: Relay, directory: RouteDirectory | None = None
    ) -> None:
        self.config = config
        self.node_id = config.node_id
        self._relay = relay
        self._directory = directory
        self._listener: PeerListener | None = None
        self._pool: PeerPool | None = None
        self.key: asyncssh.SSHKey | None = None
        self.peer_address = ""

    @property
    def directory(self) -> RouteDirectory:
        assert self._directory is not None, "start the cluster node first"
        return self._directory

    async def start(self, key: asyncssh.SSHKey) -> None:
        """Open the peer port, then connect to the directory and publish what we hold.
        (`key`: the node key the relay's start checks loaded, or made and saved.)"""
        config, relay = self.config, self._relay
        self.key = key
        authorized = relay.config.path(config.peers_authorized_keys)
        self._listener = PeerListener(relay, config.peer_host, config.peer_port, key, authorized)
        self._pool = PeerPool(config.node_id, key, authorized)
        port = await self._listener.start()
        self.peer_address = f"{self.config.peer_host}:{port}"
        if self._directory is None:
            # redis is imported only by a relay that joins a cluster: every `rac relay` and
            # the console's lab import this module, and one relay needs no Redis.
            from tui.engine.relay.redis_directory import RedisDirectory

            self._directory = RedisDirectory(
                self.node_id,
                self.peer_address,
                self.config.redis,
                ttl=self.config.route_ttl,
                on_state=self._directory_state,
                hints=True,
                tls=self._redis_tls(),
            )
        await self._directory.start()
        for serial in self._relay.routes.serials():
            route = self._relay.routes.get(serial)
            if route is not None:
                self._directory.claim(route.serial, connection_id(route))
        self._relay.audit.write(
            "cluster-start",
            node=self.node_id,
            peer=self.peer_address,
            directory=getattr(self._directory, "url_shown", "memory"),
            node_key=fingerprint(key),
        )

    def _redis_tls(self) -> RedisTls:
        from tui.engine.relay.redis_directory import RedisTls

        config = self.config

        def path(name: str | None) -> str | None:
            return str(self._relay.config.path(name)) if name else None

        return RedisTls(
            path(config.redis_tls_ca), path(config.redis_tls_cert), path(config.redis_tls_key)
        )

    async def close(self) -> None:
        """Delete our entries (clean shutdown) and close the peer side."""
        if self._directory is not None:
            await self._directory.close()
        if self._pool is not None:
            await self._pool.close()
        if self._listener is not None:
            await self._listener.close()

    def route_changed(self, route: Route, up: bool) -> None:
        """The route table gained or lost a route."""
        if self._directory is None:
            return
        if up:
            self._directory.claim(route.serial, connection_id(route))
        else:
            self._directory.release(route.serial, connection_id(route))

    def _directory_state(self, available: bool, why: str) -> None:
        self._relay.audit.write(
            "directory-up" if available else "directory-down", node=self.node_id, why=why
        )

    async def join_remote(self, serial: str, *, engineer: str, peer: str) -> SSHTCPSession[bytes]:
        """Reach `serial` on the node that holds it; newest claim first, then the others.
        An answer kept from an earlier lookup that no longer leads anywhere (a hint missed)
        is asked again of Redis itself before the engineer is refused."""
        audit = self._relay.audit
        tried: set[tuple[str, int]] = set()
        entries: list[RouteEntry] = []
        for fresh in (False, True):
            try:
                entries = await self.directory.lookup(serial, fresh=fresh)
            except DirectoryUnavailable as error:
                audit.write(
                    "engineer-no-route",
                    engineer=engineer,
                    serial=serial,
                    peer=peer,
                    why="directory unavailable",
                )
                raise asyncssh.ChannelOpenError(
                    asyncssh.OPEN_CONNECT_FAILED, error.sentence
                ) from None
            untried = [e for e in entries if (e.node_id, e.generation) not in tried]
            if not untried and not tried:
                break  # found nowhere: a kept "nowhere" is dropped by the hint of a claim
            for entry in untried:
                tried.add((entry.node_id, entry.generation))
                far = await self._hop(entry, serial, engineer=engineer, peer=peer)
                if far is not None:
                    return self._bridge(
                        far, serial=serial, engineer=engineer, peer=peer, node=entry.node_id
                    )
        if not entries:
            audit.write("engineer-no-route", engineer=engineer, serial=serial, peer=peer)
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_CONNECT_FAILED,
                f"Appliance {serial} is not connected to any relay node.",
            )
        nodes = ", ".join(sorted({node for node, _ in tried}))
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_CONNECT_FAILED,
            f"Appliance {serial} is not reachable now: the relay nodes holding it "
            f"({nodes}) do not answer.",
        )

    async def _hop(
        self, entry: RouteEntry, serial: str, *, engineer: str, peer: str
    ) -> CountingForwarder | None:
        """A channel to `serial` on `entry`'s node, or None (audited) if it does not answer."""
        assert self._pool is not None
        host, _, port = peer.rpartition(":")
        try:
            return await self._pool.open_channel(
                entry.node_id, entry.peer_address, serial, host, int(port or 0)
            )
        except (OSError, asyncssh.Error, TimeoutError) as error:
            self._relay.audit.write(
                "hop-failed",
                engineer=engineer,
                serial=serial,
                node=entry.node_id,
                why=str(error) or type(error).__name__,
            )
            return None

    def _bridge(
        self, far: CountingForwarder, *, serial: str, engineer: str, peer: str, node: str
    ) -> SSHTCPSession[bytes]:
        audit = self._relay.audit
        started = time.monotonic()
        audit.write(
            "engineer-session-start", engineer=engineer, serial=serial, peer=peer, hop_node=node
        )

        def ended() -> None:
            audit.write(
                "engineer-session-end",
                engineer=engineer,
                serial=serial,
                peer=peer,
                hop_node=node,
                bytes_to_appliance=engineer_side.received,
                bytes_from_appliance=far.received,
                duration=round(time.monotonic() - started, 3),
            )

        engineer_side = CountingForwarder(far, on_close=ended)
        return as_session(engineer_side)


def describe_cluster(node: ClusterNode) -> str:
    """The relay's start line for its cluster side (the Redis password is never shown)."""
    directory = getattr(node.directory, "url_shown", "memory")
    key = fingerprint(node.key) if node.key is not None else "not loaded"
    return (
        f"cluster node {node.node_id}: peer hop on {node.peer_address}, "
        f"node key {key}, route directory {directory}"
    )
