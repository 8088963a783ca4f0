"""Open a TCP connection and learn what the far side says first, bounded by one timeout.

The agent and the probe both use this, so a port the probe calls `smtp` is the port the agent
fails with `not-ssh:smtp`. The bytes are peeked, not read, so an SSH banner is still in the
socket when the agent hands the socket to asyncssh.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from tui.engine.first_bytes import Speaker, classify_first_bytes, printable
from tui.engine.http_proxy import ProxyHop, ProxyRefused, open_connect_tunnel
from tui.engine.reasons import Reason

PEEK_SIZE = 512
PROBE_IDENT = b"SSH-2.0-rac_probe\r\n"
# How long a server may stay silent before we speak first (an HTTP proxy or a TLS box waits
# for the client; an SSH or SMTP server greets at once).
QUIET_PERIOD = 1.0


class Outcome(StrEnum):
    """The connectivity classes of a port (issue: probe)."""

    SSH = "ssh"
    SMTP = "smtp"
    HTTP = "http"
    TLS = "tls"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    RESET = "reset"
    CLOSED = "closed"
    OTHER = "other"
    UNREACHABLE = "unreachable"
    PROXY_REFUSED = "proxy-refused"
    PROXY_AUTH = "proxy-auth"


_FROM_SPEAKER = {
    Speaker.SSH: Outcome.SSH,
    Speaker.SMTP: Outcome.SMTP,
    Speaker.HTTP: Outcome.HTTP,
    Speaker.TLS: Outcome.TLS,
    Speaker.CLOSED: Outcome.CLOSED,
    Speaker.OTHER: Outcome.OTHER,
}


@dataclass(slots=True)
class PortAnswer:
    """What one connection attempt found; `sock` is left open only for an SSH answer."""

    address: str
    port: int
    outcome: Outcome
    shown: str = ""
    connect_ms: float | None = None
    first_byte_ms: float | None = None
    silent: bool = False
    local_port: int = 0
    sock: socket.socket | None = field(default=None, repr=False)

    def close(self) -> None:
        """Release the socket if nobody took it."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None


async def check_port(
    address: str,
    port: int,
    *,
    timeout: float,
    nudge: bool = True,
    keep_ssh_socket: bool = False,
    timer: Callable[[], float] = time.perf_counter,
    via: ProxyHop | None = None,
) -> PortAnswer:
    """Connect to address:port and classify the first answer, all within `timeout` seconds.

    A silent server gets an SSH identification line (`nudge`) and a second chance to speak,
    as a telnet test would. With `keep_ssh_socket`, an SSH answer leaves the socket open and
    unread for an SSH client to take (not after a nudge: the server already has our
    identification); a silent one does too when not nudged. `timer` measures the delays
    (tests inject a fixed one so screens are deterministic). `via` goes through an HTTP
    CONNECT proxy: the TCP connection is to the proxy, the answer classified is the relay's.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    started = timer()
    dial = (via.address, via.route.port) if via is not None else (address, port)
    family = socket.AF_INET6 if ":" in dial[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    answer = PortAnswer(address, port, Outcome.TIMEOUT)
    handed_over = False
    try:
        try:
            async with asyncio.timeout(timeout):  # no task per connect, unlike wait_for
                await loop.sock_connect(sock, dial)
        except TimeoutError:
            return answer
        except ConnectionRefusedError:
            answer.outcome = Outcome.REFUSED
            return answer
        except ConnectionResetError:
            answer.outcome = Outcome.RESET
            return answer
        except OSError as error:
            if error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
                answer.outcome = Outcome.UNREACHABLE
                return answer
            raise
        answer.local_port = int(sock.getsockname()[1])
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if via is not None:
            try:
                await open_connect_tunnel(sock, via.route, via.target_host, port, deadline)
            except ProxyRefused as refusal:
                answer.outcome = (
                    Outcome.PROXY_AUTH if refusal.code == 407 else Outcome.PROXY_REFUSED
                )
                answer.shown = printable(refusal.status_line.encode("latin-1", "replace"))
                return answer
            except TimeoutError:
                return answer
        answer.connect_ms = (timer() - started) * 1000
        first_wait = min(QUIET_PERIOD, timeout / 3) if nudge else deadline - loop.time()
        data = await _peek(loop, sock, first_wait)
        nudged = False
        if data is None and nudge:
            sock.send(PROBE_IDENT)
            nudged = True
            data = await _peek(loop, sock, deadline - loop.time())
        if data is None:
            answer.silent = True
            if keep_ssh_socket and not nudge:
                answer.sock, handed_over = sock, True
            return answer
        answer.first_byte_ms = (timer() - started) * 1000
        words = classify_first_bytes(data)
        answer.outcome, answer.shown = _FROM_SPEAKER[words.speaker], words.shown
        if answer.outcome is Outcome.SSH and keep_ssh_socket and not nudged:
            answer.sock, handed_over = sock, True
        return answer
    except ConnectionResetError:
        answer.outcome = Outcome.RESET
        return answer
    finally:
        if not handed_over:
            sock.close()


async def _peek(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, timeout: float
) -> bytes | None:
    """The bytes waiting on `sock` without consuming them; None if none came in time."""
    if timeout <= 0:
        return None
    # One future settled by whichever comes first, the bytes or the timer: no timeout
    # context (and its task cancellation machinery) per connection.
    readable: asyncio.Future[bool] = loop.create_future()

    def settle(spoke: bool) -> None:
        if not readable.done():
            readable.set_result(spoke)

    loop.add_reader(sock.fileno(), settle, True)
    timer = loop.call_later(timeout, settle, False)
    try:
        spoke = await readable
    finally:
        timer.cancel()
        loop.remove_reader(sock.fileno())
    return sock.recv(PEEK_SIZE, socket.MSG_PEEK) if spoke else None


def reason_for(answer: PortAnswer) -> Reason:
    """The agent's failure reason for a port that did not answer with SSH."""
    if answer.outcome is Outcome.TIMEOUT and answer.silent:
        return Reason.SSH_TIMEOUT
    return _REASONS[answer.outcome]


_REASONS = {
    Outcome.REFUSED: Reason.TCP_REFUSED,
    Outcome.TIMEOUT: Reason.TCP_TIMEOUT,
    Outcome.UNREACHABLE: Reason.TCP_UNREACHABLE,
    Outcome.RESET: Reason.RESET,
    Outcome.SMTP: Reason.NOT_SSH_SMTP,
    Outcome.HTTP: Reason.NOT_SSH_HTTP,
    Outcome.TLS: Reason.NOT_SSH_TLS,
    Outcome.CLOSED: Reason.NOT_SSH_CLOSED,
    Outcome.OTHER: Reason.NOT_SSH_OTHER,
    Outcome.SSH: Reason.SSH_FAILED,
    Outcome.PROXY_REFUSED: Reason.PROXY_REFUSED,
    Outcome.PROXY_AUTH: Reason.PROXY_AUTH,
}


async def open_ssh_socket(
    address: str,
    port: int,
    *,
    timeout: float,
    timer: Callable[[], float] = time.perf_counter,
    via: ProxyHop | None = None,
) -> PortAnswer:
    """A connection whose far side speaks SSH, unread, for an SSH client to take over.

    Classifies like the probe (a silent server is nudged); if SSH only answered after the
    nudge, connects again without one so the SSH client can send its own identification.
    """
    answer = await check_port(
        address, port, timeout=timeout, keep_ssh_socket=True, timer=timer, via=via
    )
    if answer.outcome is Outcome.SSH and answer.sock is None:
        again = await check_port(
            address, port, timeout=timeout, nudge=False, keep_ssh_socket=True, timer=timer, via=via
        )
        answer.sock = again.sock
    return answer
