"""Support credentials: an OpenSSH user certificate whose principal binds serial and seed."""

from __future__ import annotations

import hmac
import time

import asyncssh

SERVICE_USER = "service"
DEFAULT_VALIDITY = 15 * 60.0
CLOCK_SKEW = 60.0


def support_principal(serial: str, seed: str) -> str:
    """The principal a support certificate must carry: `SERIAL:SEED`, so a
    certificate opens one appliance for one enablement only."""
    return f"{serial}:{seed}"


def principal_matches(principal: str, serial: str, seed: str) -> bool:
    """Serial compared without case (ssh lower-cases host names), seed exactly; both in
    constant time, so response times say nothing about how much of a guess was right."""
    head, sep, tail = principal.partition(":")
    serial_ok = hmac.compare_digest(head.lower().encode(), serial.lower().encode())
    seed_ok = hmac.compare_digest(
        tail.encode("utf-8", "surrogatepass"), seed.encode("utf-8", "surrogatepass")
    )
    return bool(sep) and serial_ok and seed_ok


def mint_support_certificate(
    ca_key: asyncssh.SSHKey,
    engineer_key: asyncssh.SSHKey,
    *,
    serial: str,
    seed: str,
    identity: str,
    validity: float = DEFAULT_VALIDITY,
    now: float | None = None,
) -> asyncssh.SSHCertificate:
    """A short-lived user certificate, as `ssh-keygen -s CA -I identity -n SERIAL:SEED` makes."""
    issued = time.time() if now is None else now
    return ca_key.generate_user_certificate(
        engineer_key,
        identity,
        principals=[support_principal(serial, seed)],
        valid_after=int(issued - CLOCK_SKEW),
        valid_before=int(issued + validity),
    )
