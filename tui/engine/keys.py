"""Ed25519 keys that rac creates on first use and keeps 0600 (appliance, host and CA keys)."""

from __future__ import annotations

from pathlib import Path

import asyncssh

from tui.engine.bounded_files import KEY_LIMIT, UnreadableFile, read_bounded
from tui.engine.errors import RacError
from tui.engine.secure_files import check_private, refuse_link, write_private


def read_own_private_key(path: Path, what: str) -> asyncssh.SSHKey:
    """A private key from a regular 0600 file of ours (never one another user could plant)."""
    check_private(path, what)
    try:
        data = read_bounded(path, KEY_LIMIT)
    except UnreadableFile as error:
        raise RacError(f"{path} ({what}) {error}.") from None
    try:
        return asyncssh.import_private_key(data)
    except (asyncssh.KeyImportError, ValueError):
        raise RacError(
            f"{path} ({what}) is not an SSH private key rac can read "
            "(unencrypted OpenSSH or PEM format)."
        ) from None


def load_or_create_key(path: Path, comment: str = "") -> asyncssh.SSHKey:
    """The private key at `path`, generated (ed25519) and saved 0600 with its .pub if absent.

    A new key is on disk when this returns (an acknowledged enable must not lose its key in a
    power cut: the relay knows it by then). A symbolic link at `path` is refused (OSError
    ELOOP naming it): a key rac makes is never read or written through one.
    """
    refuse_link(path)
    if path.exists():
        return read_own_private_key(path, comment or "a private key")
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment or None)
    write_private(path.with_name(path.name + ".pub"), key.export_public_key(), durable=True)
    write_private(path, key.export_private_key(), durable=True)
    return key


def fingerprint(key: asyncssh.SSHKey) -> str:
    """The SHA256 fingerprint OpenSSH shows (`SHA256:...`)."""
    return key.get_fingerprint("sha256")
