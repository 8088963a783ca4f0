"""Files that hold keys, seeds or audit trails: created 0600, replaced atomically (the one
writer of private files: `write_private`, durable when asked)."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from pathlib import Path

from tui.engine.atomic_write import sync_directory, write_all
from tui.engine.errors import RacError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


class InsecureFileError(RacError):
    """A state dir or key file another user owns or may read or write (as OpenSSH's
    StrictModes refuses them): a planted key or a readable seed is worse than stopping."""


def check_private(path: Path, what: str) -> None:
    """Refuse `path` unless the current user owns it and nobody else may read or write it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    kind = "directory" if stat.S_ISDIR(info.st_mode) else "file"
    if info.st_uid != os.geteuid():
        raise InsecureFileError(
            f"{path} ({what}) belongs to another user (uid {info.st_uid}): rac keeps seeds and "
            f"keys only in a {kind} of its own. Use another --state-dir, or fix the owner."
        )
    loose = stat.S_IMODE(info.st_mode) & 0o077
    if loose:
        who = "written" if loose & 0o022 else "read"
        fix = "700" if kind == "directory" else "600"
        raise InsecureFileError(
            f"{path} ({what}) may be {who} by other users (mode "
            f"{stat.S_IMODE(info.st_mode):04o}): rac will not use it for seeds and keys. "
            f"Run `chmod {fix} {path}` if its contents are yours, or use another --state-dir."
        )


def ensure_own_private_dir(path: Path, what: str) -> Path:
    """Create `path` 0700 if absent; refuse it if it exists with another owner or open modes."""
    check_private(path, what)
    return ensure_private_dir(path)


def ensure_private_dir(path: Path) -> Path:
    """Create `path`, and every missing parent, readable by the owner only (`mkdir -p` would
    give the parents the umask's mode, typically 0755)."""
    missing: list[Path] = []
    for candidate in [path, *path.parents]:
        if candidate.exists():
            break
        missing.append(candidate)
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    return path


def write_private(path: Path, data: bytes | str, *, durable: bool = False) -> None:
    """Replace `path` atomically with `data`, mode 0600 from the first byte; `durable`: also
    on disk when this returns (an acknowledged key or enrolment must survive a power cut).

    The bytes go to a new temporary file beside `path` (created exclusively, never through a
    link), which is renamed over it: a reader sees the old file or the new one. A symbolic
    link at `path` is refused (OSError ELOOP naming it) rather than replaced or followed.
    """
    ensure_private_dir(path.parent)
    refuse_link(path)
    payload = data.encode() if isinstance(data, str) else data
    # Per process and thread: keys are made in threads, two enables of one name at once.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_native_id()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()  # a crash's leftover, or a planted name: never opened as it is
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, PRIVATE_FILE)
    try:
        try:
            write_all(fd, payload)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    if durable:
        sync_directory(path.parent)


def refuse_link(path: Path) -> None:
    """A link where rac keeps a private file was planted, or left by someone: say so."""
    if path.is_symlink():
        raise OSError(
            errno.ELOOP,
            "it is a symbolic link: rac writes keys and state only to files of its own, "
            "never through a link (remove the link, or use another --state-dir)",
            str(path),
        )


def append_private(path: Path, line: str) -> None:
    """Append one line to `path`, creating it 0600 if new (for JSONL audit logs)."""
    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line if line.endswith("\n") else line + "\n")
