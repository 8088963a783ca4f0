"""A loopback TCP proxy that misbehaves on command: the faults a path between an appliance
and its relay has, switched on and off from a test.

    async with ChaosProxy(relay_port) as proxy:      # agent dials proxy.port
        proxy.blackhole()      # nothing passes either way; every socket stays open
        proxy.restore()        # what was held flows again (as TCP retransmission would)
        proxy.cut()            # RST on every connection, both sides
        proxy.half_close()     # FIN towards the client; the other direction stays open
        proxy.latency = 0.45   # seconds each way
        proxy.bandwidth = 64 * 1024   # bytes per second each way (None: unlimited)

During a blackhole new connections are accepted but get no answer (the relay never hears of
them), like a firewall that dropped the path. Tests wait on events (`wait_connections`),
never on sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from types import TracebackType

LOOPBACK = "127.0.0.1"
CHUNK = 16 * 1024
QUEUED_CHUNKS = 32


@dataclass(eq=False)
class _Direction:
    """One way of one connection: reads, shapes, delays, writes."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    queue: asyncio.Queue[tuple[float, bytes]] = field(
        default_factory=lambda: asyncio.Queue(QUEUED_CHUNKS)
    )
    free_at: float = 0.0


@dataclass(eq=False)
class Link:
    """One proxied connection: the client's side and the upstream side."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def writers(self) -> list[asyncio.StreamWriter]:
        return [w for w in (self.client, self.upstream) if w is not None]


class ChaosProxy:
    """Forward 127.0.0.1:`port` to `target_port`, with faults on demand."""

    def __init__(self, target_port: int, target_host: str = LOOPBACK) -> None:
        self.target = (target_host, target_port)
        self.latency = 0.0
        self.bandwidth: float | None = None
        self.port = 0
        self.links: list[Link] = []
        self.accepted = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ChaosProxy:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    # -- faults -------------------------------------------------------------------------

    @property
    def blackholed(self) -> bool:
        """Nothing passes right now."""
        return not self._flowing.is_set()

    def blackhole(self) -> None:
        """Stop forwarding both ways; sockets stay open and what arrives is held."""
        self._flowing.clear()

    def restore(self) -> None:
        """Forward again, held data first."""
        self._flowing.set()

    def cut(self) -> None:
        """Reset every connection on both sides (RST, not FIN)."""
        for link in list(self.links):
            self._reset(link)

    def half_close(self) -> None:
        """Send FIN to every client: the client reads EOF, and can still send."""
        for link in self.links:
            with contextlib.suppress(OSError):
                link.client.write_eof()

    async def wait_connections(self, count: int, timeout: float = 10.0) -> None:
        """Until `count` connections have been accepted in all."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.accepted >= count)

    async def close(self) -> None:
        """Stop listening and reset whatever is still open."""
        if self._server is not None:
            self._server.close()
        self._flowing.set()
        self.cut()
        if self._server is not None:
            await self._server.wait_closed()

    # -- forwarding ---------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = Link(writer)
        self.links.append(link)
        async with self._changed:
            self.accepted += 1
            self._changed.notify_all()
        try:
            await self._flowing.wait()
            if link not in self.links:  # cut while it waited
                return
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._reset(link)
            return
        link.upstream = up_writer
        for direction in (_Direction(reader, up_writer), _Direction(up_reader, writer)):
            link.tasks.append(asyncio.get_running_loop().create_task(self._read(direction, link)))
            link.tasks.append(asyncio.get_running_loop().create_task(self._write(direction)))
        await asyncio.gather(*link.tasks, return_exceptions=True)
        for each in link.writers():
            each.close()
        if link in self.links:
            self.links.remove(link)

    async def _read(self, way: _Direction, link: Link) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._flowing.wait()
            try:
                data = await way.reader.read(self._chunk())
            except OSError:  # one side reset: so does the other, as through a real path
                self._reset(link)
                return
            await self._flowing.wait()
            now = loop.time()
            if self.bandwidth:
                way.free_at = max(now, way.free_at) + len(data) / self.bandwidth
                ready = way.free_at
            else:
                ready = now
            await way.queue.put((ready + self.latency, data))
            if not data:
                return

    async def _write(self, way: _Direction) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, data = await way.queue.get()
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            await self._flowing.wait()
            if not data:
                with contextlib.suppress(OSError):
                    way.writer.write_eof()
                return
            way.writer.write(data)
            try:
                await way.writer.drain()
            except OSError:
                return

    def _chunk(self) -> int:
        # At a low bandwidth, small chunks keep the pacing smooth (a tenth of a second each).
        if self.bandwidth:
            return max(512, min(CHUNK, int(self.bandwidth / 10)))
        return CHUNK

    def _reset(self, link: Link) -> None:
        for task in link.tasks:
            task.cancel()
        for writer in link.writers():
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        if link in self.links:
            self.links.remove(link)
