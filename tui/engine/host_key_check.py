"""A full SSH key exchange with a port that answered SSH, and the host key against the pin."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import asyncssh

from tui.engine.pinned_hosts import PinVerdict, check_pin


class Handshake(StrEnum):
    """How the SSH handshake ended."""

    OK = "ssh-ok"
    MISMATCH = "ssh-hostkey-mismatch"
    UNKNOWN = "ssh-hostkey-unknown"
    FAILED = "ssh-failed"


@dataclass(frozen=True, slots=True)
class HandshakeResult:
    """The verdict and both fingerprints (presented and pinned)."""

    verdict: Handshake
    presented: str = ""
    pinned: tuple[str, ...] = ()
    error: str = ""


async def check_handshake(
    sock: socket.socket, host: str, known_hosts: Path | None, timeout: float
) -> HandshakeResult:
    """Key exchange on an open socket (no authentication); compares the key with the pin."""
    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(host, sock=sock, config=None), max(0.1, timeout)
        )
    except (TimeoutError, asyncssh.Error, OSError) as error:
        return HandshakeResult(Handshake.FAILED, error=str(error) or type(error).__name__)
    finally:
        sock.close()
    if key is None:
        return HandshakeResult(Handshake.FAILED, error="no host key presented")
    if known_hosts is None:
        return HandshakeResult(Handshake.UNKNOWN, key.get_fingerprint("sha256"))
    pin = check_pin(known_hosts, host, key)
    verdict = {
        PinVerdict.TRUSTED: Handshake.OK,
        PinVerdict.MISMATCH: Handshake.MISMATCH,
        PinVerdict.UNKNOWN: Handshake.UNKNOWN,
    }[pin.verdict]
    return HandshakeResult(verdict, key.get_fingerprint("sha256"), pin.pinned)
