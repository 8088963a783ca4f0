"""Who may be an agent at the relay, and which SSHACCESS serials each gateway may announce.

The agents directory is the storage: `SERIAL.pub` holds an appliance's enrolled public key,
`CHILD.gateway` names the one gateway serial allowed to announce CHILD. File names are only
ever made from names that match the serial pattern; a name a client sends is looked up in a
snapshot in memory and never becomes a path. Files are read without following FIFOs or
devices (only regular files, of bounded size) and written atomically, 0600.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from tui.engine.atomic_write import sync_directory
from tui.engine.bounded_files import UnreadableFile, read_bounded
from tui.engine.errors import UsageError
from tui.engine.secure_files import PRIVATE_DIR, write_private

SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{3,63}")
KEY_SUFFIX = ".pub"
GATEWAY_SUFFIX = ".gateway"
MAX_FILE_BYTES = 16 * 1024

Stamp = tuple[int, int, int]


def valid_serial(name: str) -> bool:
    """The whole name is a serial (no dots, slashes, spaces or trailing newline)."""
    return SERIAL.fullmatch(name) is not None


def remove_durably(path: Path) -> bool:
    """Delete `path` and make the deletion durable; False if it was not there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    sync_directory(path.parent)
    return True


@dataclass(frozen=True, slots=True)
class AgentKey:
    """An enrolled appliance: its key, or why its file cannot be used (then it is refused)."""

    serial: str
    key: asyncssh.SSHKey | None
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Binding:
    """`CHILD.gateway`: the gateway serial allowed to announce CHILD, or why it is unusable."""

    child: str
    gateway: str
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Enrolments:
    """One consistent view of the agents directory."""

    agents: Mapping[str, AgentKey] = field(default_factory=dict)
    gateways: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    stamps: Mapping[str, tuple[Stamp, AgentKey | Binding]] = field(default_factory=dict)
    dir_stamp: int = 0

    def agent(self, serial: str) -> AgentKey | None:
        """The enrolment of `serial` (any case), if it has a `.pub` file."""
        return self.agents.get(serial.lower())

    def gateway_of(self, serial: str) -> str | None:
        """The gateway serial bound to announce `serial`, if any."""
        return self.gateways.get(serial.lower())

    def children_of(self, gateway: str) -> list[str]:
        """SSHACCESS serials bound to `gateway`."""
        wanted = gateway.lower()
        return sorted(child for child, owner in self.gateways.items() if owner == wanted)

    def may_announce(self, owner: str, serial: str) -> bool:
        """An agent announces only its own serial and the serials bound to it."""
        owner, serial = owner.lower(), serial.lower()
        return serial == owner or self.gateways.get(serial) == owner


def directory_stamp(directory: Path) -> int:
    """Changes whenever a file is added, removed or renamed in `directory` (0 if absent)."""
    try:
        return directory.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def scan(directory: Path, previous: Enrolments | None = None) -> Enrolments:
    """Read the agents directory, re-reading only files whose size, time or inode changed.
    Runs in a worker thread at the relay: it may block on the disk, never on a client."""
    previous = previous or Enrolments()
    dir_stamp = directory_stamp(directory)
    agents: dict[str, AgentKey] = {}
    gateways: dict[str, str] = {}
    problems: list[str] = []
    stamps: dict[str, tuple[Stamp, AgentKey | Binding]] = {}
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        entries = []
    except OSError as error:
        problems.append(f"{directory}: cannot be listed ({error.strerror or error}).")
        entries = []
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        if name.endswith(KEY_SUFFIX):
            serial, kind = name[: -len(KEY_SUFFIX)], KEY_SUFFIX
        elif name.endswith(GATEWAY_SUFFIX):
            serial, kind = name[: -len(GATEWAY_SUFFIX)], GATEWAY_SUFFIX
        else:
            continue
        if not valid_serial(serial) or serial != serial.lower():
            problems.append(f"{entry.path}: ignored, the name is not a lower-case serial.")
            continue
        try:
            info = entry.stat()
            signature: Stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        except OSError:
            signature = (0, 0, -1)
        known = previous.stamps.get(name)
        value = (
            known[1]
            if known is not None and known[0] == signature
            else _read_entry(Path(entry.path), serial, kind)
        )
        stamps[name] = (signature, value)
        if isinstance(value, AgentKey):
            agents[serial] = value
            if value.problem:
                problems.append(
                    f"{entry.path}: cannot be used ({value.problem}); "
                    f"{serial} is refused until it is fixed."
                )
        elif value.problem:
            problems.append(
                f"{entry.path}: cannot be used ({value.problem}); no gateway may announce {serial}."
            )
        else:
            gateways[serial] = value.gateway
    return Enrolments(agents, gateways, tuple(problems), stamps, dir_stamp)


def _read_entry(path: Path, serial: str, kind: str) -> AgentKey | Binding:
    try:
        text = read_bounded(path, MAX_FILE_BYTES).decode("utf-8")
    except UnicodeDecodeError:
        text, problem = "", "not UTF-8 text"
    except UnreadableFile as error:
        text, problem = "", str(error)
    else:
        problem = ""
    if kind == KEY_SUFFIX:
        if problem:
            return AgentKey(serial, None, problem)
        try:
            return AgentKey(serial, asyncssh.import_public_key(text.strip()))
        except (asyncssh.KeyImportError, ValueError):
            return AgentKey(serial, None, "not an OpenSSH public key")
    gateway = text.strip().lower()
    if not problem and not valid_serial(gateway):
        problem = "it does not hold a gateway serial"
    return Binding(serial, gateway, problem)


class EnrolmentStore:
    """The relay admin's view: `rac relay enrol / revoke / list` on the agents directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def load(self) -> Enrolments:
        """What the directory holds now."""
        return scan(self.directory)

    def enrol(self, serial: str, key: asyncssh.SSHKey, gateway_for: list[str]) -> list[str]:
        """Enrol (or re-key) `serial` and bind SSHACCESS serials to it; returns what changed."""
        serial = _checked_serial(serial, "SERIAL")
        children = [_checked_serial(child, "--gateway-for") for child in gateway_for]
        current = self.load()
        if current.gateway_of(serial) is not None:
            raise UsageError(
                f"{serial} is bound to gateway {current.gateway_of(serial)} as an "
                f"SSHACCESS appliance; revoke it first (rac relay revoke {serial})."
            )
        for child in children:
            if child == serial:
                raise UsageError(f"{serial} cannot be its own gateway.")
            if current.agent(child) is not None:
                raise UsageError(
                    f"{child} is enrolled as an appliance with its own key; "
                    f"revoke it first to bind it to gateway {serial}."
                )
            bound = current.gateway_of(child)
            if bound is not None and bound != serial:
                raise UsageError(
                    f"{child} is already bound to gateway {bound}; revoke it first to move it."
                )
        self.directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        changes = []
        before = current.agent(serial)
        write_private(
            self.directory / f"{serial}{KEY_SUFFIX}", key.export_public_key(), durable=True
        )
        verb = "re-keyed" if before is not None else "enrolled"
        changes.append(f"{verb} {serial} ({key.get_fingerprint('sha256')})")
        for child in children:
            if current.gateway_of(child) == serial:
                continue
            write_private(
                self.directory / f"{child}{GATEWAY_SUFFIX}", f"{serial}\n".encode(), durable=True
            )
            changes.append(f"bound {child} to gateway {serial}")
        return changes

    def revoke(self, serial: str) -> list[str]:
        """Remove `serial`'s key, its own binding and the bindings of its children."""
        serial = _checked_serial(serial, "SERIAL")
        current = self.load()
        changes = []
        if remove_durably(self.directory / f"{serial}{KEY_SUFFIX}"):
            changes.append(f"revoked {serial}")
        if remove_durably(self.directory / f"{serial}{GATEWAY_SUFFIX}"):
            changes.append(f"unbound {serial} from gateway {current.gateway_of(serial)}")
        for child in current.children_of(serial):
            if remove_durably(self.directory / f"{child}{GATEWAY_SUFFIX}"):
                changes.append(f"unbound {child} from gateway {serial}")
        if not changes:
            raise UsageError(
                f"{serial} is neither enrolled nor bound to a gateway in {self.directory}."
            )
        return changes


def _checked_serial(name: str, what: str) -> str:
    if not valid_serial(name):
        raise UsageError(
            f"{what} {name!r} is not a serial (4-64 letters, digits and dashes, "
            "starting with a letter or digit)."
        )
    return name.lower()
