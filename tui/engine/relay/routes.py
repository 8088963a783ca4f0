"""The relay's routing table: appliance serial → the agent connection that serves it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncssh


@dataclass(eq=False, slots=True)
class Route:
    """A serial the relay can reach, and over which agent connection."""

    serial: str
    listen_host: str
    conn: asyncssh.SSHServerConnection
    owner: str


class RouteTable:
    """Serials compare case-insensitively: ssh lower-cases the host name it is given."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._by_conn: dict[asyncssh.SSHServerConnection, dict[str, Route]] = {}
        """The live routes of each connection: an agent that leaves costs its own routes,
        not a walk over every route of the relay."""
        self.on_change: Callable[[Route, bool], None] | None = None
        """Told of every route that comes (True) or goes (False): the cluster publishes it."""

    def get(self, serial: str) -> Route | None:
        """The live route for `serial`."""
        return self._routes.get(serial.lower())

    def put(self, route: Route) -> Route | None:
        """Install `route`, returning the one it replaced (a reconnecting agent takes over)."""
        key = route.serial.lower()
        previous = self._routes.get(key)
        self._routes[key] = route
        if previous is not None and previous is not route:
            self._unindex(previous, key)
        self._by_conn.setdefault(route.conn, {})[key] = route
        if self.on_change is not None and previous is not route:
            self.on_change(route, True)
        return previous if previous is not route else None

    def drop(self, route: Route) -> bool:
        """Remove `route` if it is still the live one for its serial."""
        key = route.serial.lower()
        if self._routes.get(key) is route:
            del self._routes[key]
            self._unindex(route, key)
            if self.on_change is not None:
                self.on_change(route, False)
            return True
        return False

    def of_connection(self, conn: asyncssh.SSHServerConnection) -> list[Route]:
        """Every route a connection carries."""
        return list(self._by_conn.get(conn, {}).values())

    def _unindex(self, route: Route, key: str) -> None:
        routes = self._by_conn.get(route.conn)
        if routes is not None and routes.get(key) is route:
            del routes[key]
            if not routes:
                del self._by_conn[route.conn]

    def all(self) -> list[Route]:
        """Every live route."""
        return list(self._routes.values())

    def serials(self) -> list[str]:
        """Serials reachable now."""
        return sorted(self._routes)


class RouteListener(asyncssh.SSHListener):
    """What `server_requested` returns: a route, not a socket — no TCP port per appliance."""

    def __init__(self, table: RouteTable, route: Route) -> None:
        super().__init__()
        self._table = table
        self.route = route

    def close(self) -> None:
        self._table.drop(self.route)

    async def wait_closed(self) -> None:
        return None
