"""Reaching the relay through an HTTP CONNECT proxy (asyncssh has none: we open the tunnel on
the socket ourselves and hand asyncssh the connected socket).

The proxy's answer is read with the socket's peek, and only the header is consumed, so an SSH
banner that arrives in the same segment as `200 Connection established` stays for asyncssh.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

MAX_HEADER = 8192


@dataclass(frozen=True, slots=True)
class ProxyRoute:
    """An HTTP proxy, with Basic credentials if the URL carries them."""

    host: str
    port: int
    authorization: str = field(default="", repr=False)

    @property
    def shown(self) -> str:
        """`proxy.example:3128`, never the credentials."""
        return f"{self.host}:{self.port}"


def parse_proxy_url(value: str) -> ProxyRoute:
    """`http://[user:password@]host[:port]`; raises ValueError naming what is wrong."""
    parts = urlsplit(value)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(
            f"{redacted_url(value)!r} is not an HTTP proxy URL: use "
            '"http://HOST:PORT" (optionally http://USER:PASSWORD@HOST:PORT)'
        )
    try:
        port = 3128 if parts.port is None else parts.port
    except ValueError:
        raise ValueError(f"{redacted_url(value)!r} has a port outside 1-65535") from None
    if not 0 < port < 65536:
        raise ValueError(f"{redacted_url(value)!r} has a port outside 1-65535")
    authorization = ""
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode()
    return ProxyRoute(parts.hostname, port, authorization)


def redacted_url(value: str) -> str:
    """The URL as it may be shown: any password replaced by `***` (even in a malformed URL,
    everything between the first `:` after `//` and the last `@` of the authority)."""
    scheme, sep, rest = value.partition("//")
    if not sep:
        scheme, rest = "", value
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return value
    user = userinfo.partition(":")[0]
    return f"{scheme}{sep}{user}:***@{host}{slash}{path}"


@dataclass(frozen=True, slots=True)
class ProxyHop:
    """Where to connect (the proxy's address) and what to ask it for (the relay by name)."""

    address: str
    route: ProxyRoute
    target_host: str


class ProxyRefused(Exception):
    """The proxy answered CONNECT with something other than 2xx."""

    def __init__(self, status_line: str) -> None:
        super().__init__(status_line)
        self.status_line = status_line
        parts = status_line.split(maxsplit=2)
        self.code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


async def open_connect_tunnel(
    sock: socket.socket, proxy: ProxyRoute, host: str, port: int, deadline: float
) -> None:
    """Ask the proxy for a tunnel to host:port on a connected socket; raises ProxyRefused,
    TimeoutError or ConnectionError. On return the socket speaks to host:port."""
    loop = asyncio.get_running_loop()
    request = f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if proxy.authorization:
        request += f"Proxy-Authorization: {proxy.authorization}\r\n"
    await loop.sock_sendall(sock, (request + "\r\n").encode())
    header = b""
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError
        await _readable(loop, sock, remaining)
        peeked = sock.recv(MAX_HEADER, socket.MSG_PEEK)
        if not peeked:
            raise ConnectionResetError("the proxy closed the connection")
        end = (header + peeked).find(b"\r\n\r\n")
        if end < 0:
            if len(header) + len(peeked) >= MAX_HEADER:
                raise ProxyRefused("the proxy's answer is not HTTP")
            header += sock.recv(len(peeked))  # all of it is header: take it, wait for more
            continue
        header += sock.recv(end + 4 - len(header))  # the header only; what follows is SSH
        break
    status_line = header.split(b"\r\n", 1)[0].decode("latin-1").strip()
    parts = status_line.split(maxsplit=2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].startswith("2"):
        raise ProxyRefused(status_line or "an empty answer")


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket, timeout: float) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await asyncio.wait_for(ready, timeout)
    finally:
        loop.remove_reader(sock.fileno())
