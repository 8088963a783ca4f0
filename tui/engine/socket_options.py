"""Kernel-side liveness on every TCP socket: the cheap second net under the SSH keepalive.

TCP keepalive with a short idle time, interval and count finds a dead idle path, and
`TCP_USER_TIMEOUT` a path where sent data stays unacknowledged, both inside the kernel with
no Python wake-up. They cannot see a peer whose kernel still answers (a hung process, a
proxy that stopped forwarding): the SSH keepalive (`keepalive.py`) covers that, and finds a
silent peer first (20 s). The idle time is longer than the SSH keepalive interval (15 s), so
a healthy idle tunnel sends no TCP keepalive at all: the net costs nothing until it is needed
(a connection without SSH keepalive, a dead path: found in 30 s).
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KernelKeepalive:
    """Idle seconds before the first TCP keepalive, seconds between them, how many may go
    unanswered, and how long sent data may stay unacknowledged."""

    idle: int = 20
    interval: int = 5
    count: int = 2
    user_timeout: float = 30.0


KERNEL_KEEPALIVE = KernelKeepalive()


def tune_liveness(sock: socket.socket | None, settings: KernelKeepalive = KERNEL_KEEPALIVE) -> None:
    """Turn on TCP keepalive and the user timeout on `sock` (a no-op for non-TCP sockets)."""
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    # Options this kernel lacks are skipped: the SSH keepalive still finds a dead peer.
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, settings.idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, settings.interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, settings.count)
        sock.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(settings.user_timeout * 1000)
        )
