"""Small loopback servers that misbehave the way firewalls and middleboxes do."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

import asyncssh

LOOPBACK = "127.0.0.1"

Greeter = Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]

SMTP_GREETING = b"220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n"
HTTP_ANSWER = (
    b"HTTP/1.1 403 Forbidden\r\nServer: squid/5.7\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
)
# A TLS alert record (fatal handshake_failure), what an intercepting TLS box sends first.
TLS_ALERT = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])


async def _greet(data: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(data)
    await writer.drain()
    await reader.read(1024)
    writer.close()


async def _answer_after_request(
    data: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await reader.read(1024)
    writer.write(data)
    await writer.drain()
    writer.close()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # holds the connection open, never says a word
    writer.close()


async def _banner_then_silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.2p1 stalls-after-banner\r\n")
    await writer.drain()
    await reader.read()  # the key exchange never gets an answer
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
    "banner-then-silent": _banner_then_silent,
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


class ProxyLog:
    """What a test proxy was asked for."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.port = 0


@asynccontextmanager
async def connect_proxy(
    names: dict[str, str], *, deny_ports: tuple[int, ...] = (), credentials: str | None = None
) -> AsyncIterator[ProxyLog]:
    """A small HTTP CONNECT proxy on loopback: resolves `names`, refuses `deny_ports` with
    403, wants Basic `credentials` (user:password) if given, then pipes both ways."""
    import base64

    log = ProxyLog()
    tasks: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        log.requests.append(target)
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        host, _, port_text = target.rpartition(":")
        answer = ""
        if method != "CONNECT":
            answer = "HTTP/1.1 405 Method Not Allowed"
        elif credentials is not None and headers.get("Proxy-Authorization") != (
            "Basic " + base64.b64encode(credentials.encode()).decode()
        ):
            answer = "HTTP/1.1 407 Proxy Authentication Required"
        elif int(port_text) in deny_ports:
            answer = "HTTP/1.1 403 Forbidden"
        elif host not in names:
            answer = "HTTP/1.1 502 Bad Gateway"
        if answer:
            writer.write(f"{answer}\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                names[host], int(port_text)
            )
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def track(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(handle(reader, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(track, LOOPBACK, 0)
    log.port = server.sockets[0].getsockname()[1]
    try:
        yield log
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


STALL_STAGES = ("kex", "auth", "forward")


class _StallingServer(asyncssh.SSHServer):
    """Answers an agent up to one step, then never again: a relay (or a middlebox in front of
    one) that stalls at login or at the forward request."""

    def __init__(self, stall: str, released: asyncio.Event) -> None:
        self._stall = stall
        self._released = released

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self._stall == "auth":
            await self._released.wait()
            return False
        return True

    async def server_requested(self, listen_host: str, listen_port: int) -> bool:
        await self._released.wait()  # the "forward" stall: no answer to tcpip-forward
        return False


@asynccontextmanager
async def stalling_ssh_server(host_key: asyncssh.SSHKey, stall: str) -> AsyncIterator[int]:
    """A loopback SSH server with `host_key` that stalls at `stall`: "kex" (its banner, then
    silence), "auth" (key exchange done, no answer to the login) or "forward" (logged in, no
    answer to the forward request); yields its port."""
    if stall not in STALL_STAGES:
        raise ValueError(f"stall {stall!r}: one of {STALL_STAGES}")
    if stall == "kex":
        async with fault_server("banner-then-silent") as port:
            yield port
        return
    released = asyncio.Event()
    server = await asyncssh.listen(
        LOOPBACK,
        0,
        server_factory=lambda: _StallingServer(stall, released),
        server_host_keys=[host_key],
        config=None,
    )
    try:
        yield server.get_port()
    finally:
        released.set()
        server.close()
        await server.wait_closed()
