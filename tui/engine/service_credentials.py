"""Why the (SERVICE) endpoint refuses a credential: one check, one reason, in order.

The endpoint judges every key or certificate itself, in the order OpenSSH does (user, CA,
principal, validity, source-address), so each refused attempt is audited with its real
reason; asyncssh then only verifies the signature. Seeds and principals are compared in
constant time, and the seed is read at every attempt, never remembered from an earlier one.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network
from typing import cast

import asyncssh
from asyncssh.public_key import CERT_TYPE_USER, SSHOpenSSHCertificate, decode_ssh_certificate

from tui.engine.support_ca import SERVICE_USER, principal_matches

IPNetwork = IPv4Network | IPv6Network

PLAIN_KEY = "a plain key without a support certificate"
NO_SIGNATURE = "a certificate whose signature does not verify"
ACCESS_CLOSED = "a certificate, but remote access is disabled or has ended"


def any_principal_names(principals: Sequence[str], serial: str, seed: str) -> bool:
    """Every principal is compared (no short cut), so timing does not say which one failed."""
    found = False
    for principal in principals:
        found |= principal_matches(principal, serial, seed)
    return found


def source_ip(source: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The engineer's address from the relay's `host:port` (None if it gave none)."""
    host = source.rpartition(":")[0] if source.count(":") == 1 else source
    if source.startswith("["):
        host = source[1:].partition("]")[0]
    elif source.count(":") > 1:
        host = source.rpartition(":")[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def refusal(
    *,
    username: str,
    key_data: bytes,
    ca_key: asyncssh.SSHKey,
    serial: str,
    seed: str | None,
    source: str,
    now: float | None = None,
) -> str | None:
    """Why this credential may not log in, or None if only its signature is left to check."""
    if username != SERVICE_USER:
        return f"user {username!r} (only {SERVICE_USER!r} may log in)"
    try:
        certificate = decode_ssh_certificate(key_data)
    except (asyncssh.KeyImportError, ValueError):
        return PLAIN_KEY
    if not isinstance(certificate, SSHOpenSSHCertificate):
        return "an X.509 certificate (only OpenSSH certificates from the support CA count)"
    if certificate.signing_key.public_data != ca_key.public_data:
        return "a certificate from another CA"
    if getattr(certificate, "_cert_type", CERT_TYPE_USER) != CERT_TYPE_USER:
        return "a host certificate, not a user certificate"
    if seed is None:
        return ACCESS_CLOSED
    if not any_principal_names(certificate.principals, serial, seed):
        return "a certificate that does not name this serial and the current seed"
    moment = time.time() if now is None else now
    valid_after = getattr(certificate, "_valid_after", 0)
    valid_before = getattr(certificate, "_valid_before", 0xFFFFFFFFFFFFFFFF)
    if moment < valid_after:
        return "a certificate outside its validity period (not valid yet)"
    if moment >= valid_before:
        return "a certificate outside its validity period (expired)"
    allowed = cast(Sequence[IPNetwork], certificate.options.get("source-address") or ())
    if allowed:
        networks = ", ".join(str(network) for network in allowed)
        address = source_ip(source)
        if address is None:
            return (
                f"a certificate limited to source-address {networks}, but the relay did "
                "not report the engineer's address"
            )
        if not any(address in network for network in allowed):
            return f"a certificate limited to source-address {networks}, used from {address}"
    return None
