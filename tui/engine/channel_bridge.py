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

from asyncssh.forward import SSHForwarder


class CountingForwarder(SSHForwarder):
    """One side of a joined pair; `received` counts the bytes that came in on this side."""

    def __init__(self, peer: SSHForwarder | None = None,
                 on_close: Callable[[], None] | None = None) -> None:
        self.received = 0
        self._on_close = on_close
        self._early: list[bytes] = []
        self._early_eof = False
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
        else:
            super().write(data)

    def write_eof(self) -> None:
        if self._transport is None:
            self._early_eof = True
        else:
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
        super().close()
        callback, self._on_close = self._on_close, None
        if callback is not None:
            callback()
