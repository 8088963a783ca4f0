"""Everything `rac relay` will read or create, checked before anything is created.

A config can be valid TOML and still fail at start: the agents directory is a file, the audit
log cannot be written, the host key is damaged. Each is a ConfigError (exit 2) naming the file
and the field; only when all of them pass does the relay create its host key and folders.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from tui.engine.bounded_files import UnreadableFile, read_bounded
from tui.engine.errors import ConfigError
from tui.engine.relay.relay_config import RelayConfig
from tui.engine.secure_files import PRIVATE_DIR, write_private
from tui.engine.toml_source import config_error

MAX_KEY_BYTES = 64 * 1024
HOST_KEY_COMMENT = "rac relay"


@dataclass
class StartupPlan:
    """What the checks found: the host key (made in memory if new) and what to create."""

    host_key: asyncssh.SSHKey
    new_host_key: Path | None
    directories: list[Path]

    def create(self) -> None:
        """Create the folders and the new host key (0600, with its .pub)."""
        for directory in self.directories:
            directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        if self.new_host_key is not None:
            self.new_host_key.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            write_private(self.new_host_key, self.host_key.export_private_key(), durable=True)
            public = self.new_host_key.with_name(self.new_host_key.name + ".pub")
            write_private(public, self.host_key.export_public_key(), durable=True)
            public.chmod(0o644)
            self.new_host_key = None


def check_relay_start(config: RelayConfig) -> StartupPlan:
    """Check every path of `config`; raise a ConfigError naming file and field on the first
    problem. Nothing is created here."""
    host_key_path = config.path(config.host_key)
    agents = config.path(config.agents_dir)
    host_key, new_key = _host_key(config, host_key_path)
    _check_folder(config, "agents_dir", agents, writable=config.enroll_on_first_use)
    _check_readable_file(config, "engineers", config.path(config.engineers))
    _check_appendable(config, "audit_log", config.path(config.audit_log))
    directories = [] if agents.is_dir() else [agents]
    return StartupPlan(host_key, host_key_path if new_key else None, directories)


def _fail(config: RelayConfig, field: str, message: str) -> ConfigError:
    try:
        text = config.source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    return config_error(config.source, text, [field], message)


def _host_key(config: RelayConfig, path: Path) -> tuple[asyncssh.SSHKey, bool]:
    try:
        data = read_bounded(path, MAX_KEY_BYTES)
    except UnreadableFile as error:
        if path.exists() or path.is_symlink():
            raise _fail(config, "host_key", f"{path} cannot be read ({error}).") from None
        _check_creatable(config, "host_key", path)
        return asyncssh.generate_private_key("ssh-ed25519", comment=HOST_KEY_COMMENT), True
    try:
        return asyncssh.import_private_key(data), False
    except (asyncssh.KeyImportError, ValueError):
        raise _fail(
            config, "host_key", f"{path} is not an unencrypted OpenSSH private key."
        ) from None


def _check_folder(config: RelayConfig, field: str, path: Path, *, writable: bool) -> None:
    if path.exists():
        if not path.is_dir():
            raise _fail(config, field, f"{path} is not a directory.")
        if not os.access(path, os.R_OK | os.X_OK):
            raise _fail(config, field, f"{path} cannot be read.")
        if writable and not os.access(path, os.W_OK | os.X_OK):
            raise _fail(config, field, f"{path} is not writable (enrol_on_first_use needs it).")
        return
    _check_creatable(config, field, path)


def _check_readable_file(config: RelayConfig, field: str, path: Path) -> None:
    if not path.exists():
        return  # no engineers yet: nobody can jump through, and that is allowed
    try:
        read_bounded(path, 1024 * 1024)
    except UnreadableFile as error:
        raise _fail(config, field, f"{path} cannot be used ({error}).") from None


def _check_appendable(config: RelayConfig, field: str, path: Path) -> None:
    if path.exists() or path.is_symlink():
        try:
            mode = path.stat().st_mode
        except OSError as error:
            raise _fail(config, field, f"{path} cannot be used ({error.strerror}).") from None
        if not stat.S_ISREG(mode):
            raise _fail(config, field, f"{path} is not a regular file.")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as error:
            raise _fail(config, field, f"{path} cannot be written ({error.strerror}).") from None
        os.close(fd)
        return
    _check_creatable(config, field, path)


def _check_creatable(config: RelayConfig, field: str, path: Path) -> None:
    """`path` does not exist: its nearest existing ancestor must be a writable folder."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        if ancestor.is_symlink():
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _fail(config, field, f"{path} cannot be created: {ancestor} is not a directory.")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise _fail(config, field, f"{path} cannot be created: {ancestor} is not writable.")
