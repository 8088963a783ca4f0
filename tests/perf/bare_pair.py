"""The fleet-setup reference: a bare asyncssh client pair doing connect + auth + forward N
times at once (server and client in separate processes, like relay and agents).

    python -m tests.perf.bare_pair server            → prints the port, serves until killed
    python -m tests.perf.bare_pair client PORT COUNT → prints one JSON result
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import asyncssh

from tests.perf.fleet_worker import cpu_and_wakeups, rss_kib
from tui.engine.relay.routes import Route, RouteListener, RouteTable


class _Server(asyncssh.SSHServer):
    """Accepts any key; answers a forward request with a listener object (no TCP port)."""

    def __init__(self) -> None:
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return True

    def server_requested(self, listen_host: str, listen_port: int) -> RouteListener:
        assert self.conn is not None
        table = RouteTable()
        return RouteListener(table, Route(listen_host, listen_host, self.conn, listen_host))


async def serve() -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.listen(
        "127.0.0.1", 0, server_factory=_Server, server_host_keys=[key], config=None
    )
    print(server.get_port(), flush=True)
    await asyncio.Event().wait()


async def clients(port: int, count: int) -> None:
    keys = [asyncssh.generate_private_key("ssh-ed25519") for _ in range(count)]
    conns: list[asyncssh.SSHClientConnection] = []
    before = rss_kib()
    cpu_before = cpu_and_wakeups()[0]

    async def one(index: int) -> float:
        conn = await asyncssh.connect(
            "127.0.0.1",
            port,
            username=f"s{index}",
            client_keys=[keys[index]],
            known_hosts=None,
            agent_path=None,
            config=None,
        )
        await conn.create_server(lambda h, p: None, f"s{index}", 22)
        conns.append(conn)
        return time.perf_counter()

    started = time.perf_counter()
    done = await asyncio.gather(*(one(i) for i in range(count)))
    took = time.perf_counter() - started
    cpu = cpu_and_wakeups()[0] - cpu_before
    after = rss_kib()
    ups = sorted(t - started for t in done)
    print(
        json.dumps(
            {
                "count": count,
                "setup_s": took,
                "rss_per_conn_kib": (after - before) / count,
                "cpu_ms_per_tunnel": 1000 * cpu / count,
                "p50_s": ups[len(ups) // 2],
                "p99_s": ups[int(len(ups) * 0.99) - 1],
            }
        ),
        flush=True,
    )
    for conn in conns:
        conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(serve())
    else:
        asyncio.run(clients(int(sys.argv[2]), int(sys.argv[3])))
