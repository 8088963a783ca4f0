"""One rac process per state dir: an exclusive `flock` on `DIR/rac.lock`, held for the life
of the process (`rac`, `rac agent`, `rac lab`).

Two processes on one state dir each resume the same tunnels (their routes take each other
over at the relay) and each rewrite the journal under the other, so one loses what the other
saved. The kernel drops the lock when the process ends, however it ends (`kill -9`
included), so a stale lock file never blocks a restart. The holder writes its PID and
command into the file, so a second process can say who holds it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

from tui.engine.errors import UsageError
from tui.engine.secure_files import check_private, ensure_private_dir
from tui.engine.storage_health import unusable_state_dir

LOCK_FILE = "rac.lock"
PRIVATE_FILE = 0o600


class StateDirBusyError(UsageError):
    """Another rac process holds this state dir (exit 2: nothing was started or written)."""


class StateDirLock:
    """The lock on one directory; `release` (or the end of the process) gives it up."""

    def __init__(self, directory: Path, fd: int) -> None:
        self.directory = directory
        self._fd: int | None = fd

    def release(self) -> None:
        """Give the directory up (the process ends anyway: the kernel does this too)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


LAB_CONSOLE = "rac console on the built-in lab"
# How to use the process that holds the directory instead of starting a second one.
_USE_IT = {
    LAB_CONSOLE: "Use that console: enable an appliance there (e), then log in as support "
    "from here with `rac support connect SERIAL --lab` (it asks for the seed)",
    "rac console": "Use that console",
    "rac lab": "Use that lab: the commands it printed work beside it",
    "rac agent": "Use that agent (`rac status` shows what it runs; SIGTERM disables it)",
}


def lock_state_dir(
    directory: Path, what: str, *, role: str = "the state directory"
) -> StateDirLock:
    """Take `directory` for this process (`what` names it for the next one), or raise
    StateDirBusyError naming the PID that holds it and how to use that one instead."""
    if directory.exists() and not directory.is_dir():
        raise unusable_state_dir(directory, NotADirectoryError(errno.ENOTDIR, "not a dir"))
    check_private(directory, role)  # nothing is created in a foreign dir
    try:
        ensure_private_dir(directory)
        fd = _open_lock_file(directory)
    except OSError as error:
        raise unusable_state_dir(directory, error) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise unusable_state_dir(directory, error) from None
        raise StateDirBusyError(_busy_sentence(directory)) from None
    with contextlib.suppress(OSError):  # a read-only dir: the lock holds, the note cannot
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {what}\n".encode(), 0)
    return StateDirLock(directory, fd)


def _open_lock_file(directory: Path) -> int:
    path = directory / LOCK_FILE
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as error:
        if error.errno not in (errno.EROFS, errno.EACCES):
            raise
    try:  # a read-only state dir still takes a lock on the file already there
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:  # nor that: lock the directory itself
        return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def holder(directory: Path) -> tuple[int, str] | None:
    """(pid, what) of the process holding `directory`, if it wrote itself down."""
    try:
        text = (directory / LOCK_FILE).read_text(encoding="utf-8").strip()
        pid, _, what = text.partition(" ")
        return int(pid), what
    except (OSError, ValueError):
        return None


def _busy_sentence(directory: Path) -> str:
    who = holder(directory)
    held = f"pid {who[0]}, {who[1]}" if who else "another process"
    use_it = _USE_IT.get(who[1], "Use that one") if who else "Use that one"
    return (
        f"{directory} is in use by another rac ({held}): one process per state dir, or "
        f"the two would undo each other's changes. {use_it}, stop it, or give this one "
        "its own --state-dir."
    )
