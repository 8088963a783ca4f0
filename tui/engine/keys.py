"""Ed25519 keys that rac creates on first use and keeps 0600 (appliance, host and CA keys)."""

from __future__ import annotations

from pathlib import Path

import asyncssh

from tui.engine.secure_files import write_private


def load_or_create_key(path: Path, comment: str = "") -> asyncssh.SSHKey:
    """The private key at `path`, generated (ed25519) and saved 0600 with its .pub if absent."""
    if path.exists():
        return asyncssh.read_private_key(path)
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment or None)
    write_private(path, key.export_private_key())
    public = path.with_name(path.name + ".pub")
    public.write_bytes(key.export_public_key())
    return key


def fingerprint(key: asyncssh.SSHKey) -> str:
    """The SHA256 fingerprint OpenSSH shows (`SHA256:...`)."""
    return key.get_fingerprint("sha256")
