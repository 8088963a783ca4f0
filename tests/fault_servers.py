"""Small loopback servers that misbehave the way firewalls and middleboxes do."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

LOOPBACK = "127.0.0.1"

Greeter = Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]

SMTP_GREETING = b"220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n"
HTTP_ANSWER = (b"HTTP/1.1 403 Forbidden\r\nServer: squid/5.7\r\nContent-Length: 0\r\n"
               b"Connection: close\r\n\r\n")
# A TLS alert record (fatal handshake_failure), what an intercepting TLS box sends first.
TLS_ALERT = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])


async def _greet(data: bytes, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
    writer.write(data)
    await writer.drain()
    await reader.read(1024)
    writer.close()


async def _answer_after_request(data: bytes, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
    await reader.read(1024)
    writer.write(data)
    await writer.drain()
    writer.close()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # holds the connection open, never says a word
    writer.close()


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


HANDLERS: dict[str, Greeter] = {
    "smtp": lambda r, w: _greet(SMTP_GREETING, r, w),
    "http": lambda r, w: _answer_after_request(HTTP_ANSWER, r, w),
    "tls": lambda r, w: _answer_after_request(TLS_ALERT, r, w),
    "silent": _silent,
    "reset": _reset,
    "closed": _close,
    "garbage": lambda r, w: _greet(b"\x00\x1b[31mHELLO\x07\xff\r\n", r, w),
}


@asynccontextmanager
async def fault_server(kind: str) -> AsyncIterator[int]:
    """A loopback server of `kind`; yields its port."""
    handler = HANDLERS[kind]
    open_writers: set[asyncio.StreamWriter] = set()
    handlers: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        open_writers.add(writer)
        try:
            await handler(reader, writer)  # type: ignore[misc]
        except (ConnectionError, OSError):
            writer.close()
        finally:
            open_writers.discard(writer)

    def track(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(serve(reader, writer))
        handlers.add(task)
        task.add_done_callback(handlers.discard)

    server = await asyncio.start_server(track, LOOPBACK, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in list(open_writers):
            writer.close()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


@asynccontextmanager
async def closed_port() -> AsyncIterator[int]:
    """A port nothing listens on: bound (so nobody else takes it) but never listening."""
    sock = socket.socket()
    sock.bind((LOOPBACK, 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@asynccontextmanager
async def blackhole() -> AsyncIterator[int]:
    """A listening socket whose backlog is full: new SYNs go unanswered (a timeout)."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        with suppress(BlockingIOError):
            filler.connect((LOOPBACK, port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
