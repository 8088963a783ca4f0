"""The relay's pinned host key: check on every connection, add only on an explicit accept."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import asyncssh

from tui.engine.bounded_files import CONFIG_LIMIT, read_bounded_text
from tui.engine.keys import fingerprint
from tui.engine.reread import parsed
from tui.engine.secure_files import append_private, write_private


class PinVerdict(StrEnum):
    """What the pinned keys say about a presented key."""

    TRUSTED = "trusted"
    UNKNOWN = "unknown"
    MISMATCH = "mismatch"


@dataclass(frozen=True, slots=True)
class PinCheck:
    """The verdict, with the fingerprints to show the operator when it is not TRUSTED (for a
    trusted key there is nothing to show, and nothing is computed)."""

    verdict: PinVerdict
    presented: str
    pinned: tuple[str, ...] = ()


def check_pin(known_hosts: Path, host: str, key: asyncssh.SSHKey) -> PinCheck:
    """Compare `key` with what `known_hosts` pins for `host` (by name: all relay ports share it)."""
    pinned = _pins(known_hosts, host)
    if any(k.public_data == key.public_data for k in pinned):
        return PinCheck(PinVerdict.TRUSTED, "")  # fingerprints are for the operator's eyes
    presented = fingerprint(key)
    if not pinned:
        return PinCheck(PinVerdict.UNKNOWN, presented)
    return PinCheck(PinVerdict.MISMATCH, presented, tuple(fingerprint(k) for k in pinned))


class _PinnedHosts:
    """One version of a known_hosts file, with the keys it pins per host name remembered:
    a thousand agents dialling the same relay name match its patterns once, not each time."""

    def __init__(self, known: asyncssh.SSHKnownHosts) -> None:
        self._known = known
        self._by_host: dict[str, tuple[asyncssh.SSHKey, ...]] = {}

    def pinned(self, host: str) -> tuple[asyncssh.SSHKey, ...]:
        keys = self._by_host.get(host)
        if keys is None:
            trusted, *_ = self._known.match(host, "", None)
            keys = self._by_host[host] = tuple(trusted)
        return keys


def _read_known_hosts(path: Path) -> _PinnedHosts:
    """A small regular file only; a bad line is named by number, never quoted (a key file
    put here by mistake is a secret)."""
    text = read_bounded_text(path, CONFIG_LIMIT)
    try:
        return _PinnedHosts(asyncssh.import_known_hosts(text))
    except (ValueError, asyncssh.KeyImportError):
        raise ValueError(f"{path} holds a line that is not an OpenSSH known_hosts entry") from None


def _pins(known_hosts: Path, host: str) -> tuple[asyncssh.SSHKey, ...]:
    """Keys pinned for `host` (the file is parsed again whenever it changes)."""
    pins = parsed(known_hosts, _read_known_hosts, None)
    if pins is None:
        return ()
    return pins.pinned(host)


def pin_host_key(known_hosts: Path, host: str, key: asyncssh.SSHKey) -> None:
    """Record the operator's explicit accept of `key` for `host` (OpenSSH known_hosts line)."""
    line = f"{host} {key.export_public_key().decode().strip()}"
    append_private(known_hosts, line)


def replace_pin(known_hosts: Path, host: str, key: asyncssh.SSHKey) -> None:
    """Drop every pin naming exactly `host`, then pin `key` (operator-approved key change)."""
    kept: list[str] = []
    if known_hosts.exists():
        for line in known_hosts.read_text(encoding="utf-8").splitlines():
            fields = line.split(maxsplit=1)
            names = fields[0].split(",") if len(fields) == 2 else []
            if host not in names:
                kept.append(line)
            elif len(names) > 1:
                kept.append(",".join(n for n in names if n != host) + " " + fields[1])
    write_private(known_hosts, "\n".join([*kept, ""]) if kept else "")
    pin_host_key(known_hosts, host, key)
