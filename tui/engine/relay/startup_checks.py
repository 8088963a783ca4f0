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

from tui.engine.bounded_files import CONFIG_LIMIT, UnreadableFile, read_bounded, read_bounded_text
from tui.engine.errors import ConfigError
from tui.engine.relay.node_keys import parse_node_keys
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
    peer_key: asyncssh.SSHKey | None = None
    """A cluster node's key on the node-to-node hop (None without `[cluster]`)."""
    new_peer_key: Path | None = None

    def create(self) -> None:
        """Create the folders and the new keys (0600, each with its .pub)."""
        for directory in self.directories:
            directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        if self.new_host_key is not None:
            _save_key(self.new_host_key, self.host_key)
            self.new_host_key = None
        if self.new_peer_key is not None and self.peer_key is not None:
            _save_key(self.new_peer_key, self.peer_key)
            self.new_peer_key = None


def _save_key(path: Path, key: asyncssh.SSHKey) -> None:
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    write_private(path, key.export_private_key(), durable=True)
    public = path.with_name(path.name + ".pub")
    write_private(public, key.export_public_key(), durable=True)
    public.chmod(0o644)


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
    plan = StartupPlan(host_key, host_key_path if new_key else None, directories)
    if config.cluster is not None:
        peer_key_path = config.path(config.cluster.peer_key)
        plan.peer_key, new_peer_key = check_peer_key(config, peer_key_path)
        plan.new_peer_key = peer_key_path if new_peer_key else None
        check_node_keys(config, config.path(config.cluster.peers_authorized_keys))
        for field in ("redis_tls_ca", "redis_tls_cert"):
            name = getattr(config.cluster, field)
            if name:
                _check_tls_file(config, f"cluster.{field}", config.path(name))
        if config.cluster.redis_tls_key:
            _check_own_private(
                config, "cluster.redis_tls_key", config.path(config.cluster.redis_tls_key)
            )
    return plan


def check_peer_key(config: RelayConfig, path: Path) -> tuple[asyncssh.SSHKey, bool]:
    """This node's private key on the hop: ours alone (0600, as OpenSSH demands of a private
    key) and readable, or absent and creatable (made in memory here, saved by the plan)."""
    field = "cluster.peer_key"
    if not (path.exists() or path.is_symlink()):
        _check_creatable(config, field, path)
        node_id = config.cluster.node_id if config.cluster is not None else ""
        return asyncssh.generate_private_key("ssh-ed25519", comment=node_id or None), True
    data = _check_own_private(config, field, path)
    try:
        return asyncssh.import_private_key(data), False
    except (asyncssh.KeyImportError, ValueError):
        raise _fail(config, field, f"{path} is not an unencrypted OpenSSH private key.") from None


def _check_own_private(config: RelayConfig, field: str, path: Path) -> bytes:
    """A private key file: a readable regular file that only its owner, this user, may read
    (OpenSSH's rule for private keys). Its bytes."""
    try:
        data = read_bounded(path, MAX_KEY_BYTES)
    except UnreadableFile as error:
        raise _fail(config, field, f"{path} cannot be used ({error}).") from None
    info = path.stat()
    loose = stat.S_IMODE(info.st_mode) & 0o077
    if info.st_uid != os.geteuid() or loose:
        whose = (
            f"belongs to another user (uid {info.st_uid})"
            if info.st_uid != os.geteuid()
            else f"may be read by other users (mode {stat.S_IMODE(info.st_mode):04o})"
        )
        raise _fail(
            config,
            field,
            f"{path} {whose}: a private key must be the relay's alone "
            f"(chown it to the relay's user and chmod 600 {path}).",
        )
    return data


def _check_tls_file(config: RelayConfig, field: str, path: Path) -> None:
    """A CA or certificate file for Redis's TLS: readable and PEM."""
    try:
        data = read_bounded(path, CONFIG_LIMIT)
    except UnreadableFile as error:
        raise _fail(config, field, f"{path} cannot be used ({error}).") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise _fail(config, field, f"{path} holds no PEM certificate.")


def check_node_keys(config: RelayConfig, path: Path) -> None:
    """`peers_authorized_keys` must exist (no node can hop without it) and every key line
    must parse and name its node."""
    field = "cluster.peers_authorized_keys"
    try:
        text = read_bounded_text(path, CONFIG_LIMIT)
    except UnreadableFile as error:
        if str(error) == "no such file":
            raise _fail(
                config,
                field,
                f"{path} does not exist: list every node's public key there, one a line "
                "with its node id as the comment (ssh-ed25519 AAAA… node-a).",
            ) from None
        raise _fail(config, field, f"{path} cannot be used ({error}).") from None
    _, bad = parse_node_keys(text)
    if bad:
        raise _fail(config, field, f"{path}, line {bad[0].number}, {bad[0].why}.")


def _fail(config: RelayConfig, field: str, message: str) -> ConfigError:
    try:
        text = config.source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    return config_error(config.source, text, field.split("."), message)


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
