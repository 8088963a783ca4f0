"""A support engineer for tests: real SSH through the lab relay, with any credential."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import asyncssh

from tui.engine.lab.lab import LabInfo
from tui.engine.support_ca import mint_support_certificate
from tui.engine.support_client import SupportRoute, open_support_connection


def lab_route(info: LabInfo, tmp: Path, identity: str = "alice") -> SupportRoute:
    """What `rac support connect --lab` would use."""
    return SupportRoute(
        info.relay_host,
        info.relay_ports["22"],
        info.known_hosts,
        info.engineer_key,
        info.support_ca_key,
        identity,
        tmp / "appliance_known_hosts",
    )


async def login(
    info: LabInfo,
    tmp: Path,
    serial: str,
    seed: str,
    identity: str = "alice",
) -> tuple[asyncssh.SSHClientConnection, asyncssh.SSHClientConnection]:
    """The normal login: a fresh certificate for SERIAL:SEED."""
    relay, appliance, _ = await open_support_connection(
        lab_route(info, tmp, identity), serial, seed
    )
    return relay, appliance


async def relay_connection(info: LabInfo) -> asyncssh.SSHClientConnection:
    """The engineer's connection to the relay (its key is enrolled there)."""
    return await asyncssh.connect(
        info.relay_host,
        info.relay_ports["22"],
        username="alice",
        client_keys=[asyncssh.read_private_key(info.engineer_key)],
        known_hosts=str(info.known_hosts),
        agent_path=None,
        config=None,
    )


async def login_with(
    info: LabInfo, serial: str, client_keys: Sequence[object], *, username: str = "service"
) -> asyncssh.SSHClientConnection:
    """Log in through the relay with exactly these credentials (may raise PermissionDenied)."""
    relay = await relay_connection(info)
    try:
        return await asyncssh.connect(
            serial,
            22,
            tunnel=relay,
            username=username,
            client_keys=client_keys,
            known_hosts=None,
            agent_path=None,
            config=None,
        )
    except BaseException:
        relay.close()
        raise


def certificate(
    info: LabInfo,
    principal_serial: str,
    seed: str,
    *,
    ca: asyncssh.SSHKey | None = None,
    now: float | None = None,
    validity: float = 600.0,
) -> tuple[asyncssh.SSHKey, asyncssh.SSHCertificate]:
    """An engineer key and a certificate for `principal_serial:seed` from `ca` (lab CA)."""
    key = asyncssh.read_private_key(info.engineer_key)
    signer = ca or asyncssh.read_private_key(info.support_ca_key)
    cert = mint_support_certificate(
        signer,
        key,
        serial=principal_serial,
        seed=seed,
        identity="mallory",
        now=now or time.time(),
        validity=validity,
    )
    return key, cert
