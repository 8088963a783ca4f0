"""Join an SSH channel to another channel or a socket, counting bytes, with flow control.

asyncssh's SSHForwarder does the joining (pause/resume both ways, EOF, close). It assumes
both sides are open before data flows; here one side (the channel being accepted) opens
after the other has already spoken — an SSH server sends its banner at once — so this
keeps what arrives early and delivers it when the late side opens. Per chunk it adds one
addition for the byte counter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import asyncssh
from asyncssh.forward import SSHForwarder
from asyncssh.session import SSHTCPSession, SSHTCPSessionFactory

from tui.engine.ssh_options import CHANNEL_MAX_PACKET, CHANNEL_WINDOW


class CountingForwarder(SSHForwarder):
    """One side of a joined pair; `received` counts the bytes that came in on this side."""

    def __init__(
        self, peer: SSHForwarder | None = None, on_close: Callable[[], None] | None = None
    ) -> None:
        self.received = 0
        self._on_close = on_close
        self._early: list[bytes] = []
        self._early_eof = False
        self._batch: list[bytes] = []
        super().__init__(peer)

    def set_peer(self, peer: SSHForwarder) -> None:
        super().set_peer(peer)
        if self._inpbuf:
            early, self._inpbuf = self._inpbuf, b""
            peer.write(early)
        if self._eof_received:
            peer.write_eof()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        early, self._early = self._early, []
        for data in early:
            super().write(data)
        if self._early_eof:
            super().write_eof()

    def write(self, data: bytes) -> None:
        if self._transport is None:
            self._early.append(data)
            return
        # Chunks that arrive in one turn of the loop leave as one write: on an SSH channel
        # that is one larger packet instead of many 32 KiB ones (less Python per byte).
        if not self._batch:
            asyncio.get_running_loop().call_soon(self._send_batch)
        self._batch.append(data)

    def _send_batch(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            super().write(batch[0] if len(batch) == 1 else b"".join(batch))

    def write_eof(self) -> None:
        if self._transport is None:
            self._early_eof = True
        else:
            self._send_batch()
            super().write_eof()

    def pause_reading(self) -> None:
        if self._transport is not None:
            super().pause_reading()

    def resume_reading(self) -> None:
        if self._transport is not None:
            super().resume_reading()

    def data_received(self, data: bytes, datatype: int | None = None) -> None:
        self.received += len(data)
        super().data_received(data, datatype)

    def close(self) -> None:
        if self._transport is not None:
            self._send_batch()
        super().close()
        callback, self._on_close = self._on_close, None
        if callback is not None:
            callback()


async def open_forwarded_channel(
    conn: asyncssh.SSHServerConnection,
    listen_host: str,
    listen_port: int,
    orig_host: str,
    orig_port: int,
) -> CountingForwarder:
    """Open a `forwarded-tcpip` channel to an agent, with a counting forwarder on our end."""
    factory = cast(SSHTCPSessionFactory[bytes], CountingForwarder)
    _, session = await conn.create_connection(
        factory,
        listen_host,
        listen_port,
        orig_host,
        orig_port,
        window=CHANNEL_WINDOW,
        max_pktsize=CHANNEL_MAX_PACKET,
    )
    return cast(CountingForwarder, session)


def as_session(forwarder: CountingForwarder) -> SSHTCPSession[bytes]:
    """asyncssh accepts any forwarder as a TCP session (it does the same cast internally)."""
    return cast(SSHTCPSession[bytes], forwarder)
