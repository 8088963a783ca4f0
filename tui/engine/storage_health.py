"""Whether rac can write its state dir, in words an operator can act on.

A full, read-only or mis-shaped state dir must never stop the tunnels already up or a support
login: writes that fail are caught where they happen, counted here, and shown as one sentence
naming the path (in `rac status`, the console and `--json`) until a write works again.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

from tui.engine.errors import RacError

_WHY = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "it is a directory where rac keeps a file",
    errno.ENOTDIR: "a part of it is a file where rac keeps a directory",
    errno.ELOOP: "it is a symbolic link, which rac does not follow there",
    errno.EIO: "the device reports an I/O error",
}


class StorageError(RacError):
    """The state dir cannot be written (full, read-only, wrong kind of file): nothing changed."""


def why_not_written(error: OSError) -> str:
    """The cause of a failed file operation, in words."""
    if error.errno in _WHY:
        return _WHY[error.errno]
    return (error.strerror or str(error)).lower()


def storage_sentence(path: Path, error: OSError) -> str:
    """'Cannot write PATH: CAUSE' for any failed write under the state dir."""
    return f"cannot write {path}: {why_not_written(error)}"


def unusable_state_dir(state_dir: Path, error: OSError) -> StorageError:
    """The state dir itself cannot be made or used: say why, and what to do."""
    why = (
        "it is a file, where rac keeps a directory"
        if state_dir.is_file()
        else why_not_written(error)
    )
    return StorageError(
        f"Cannot use {state_dir} as the state dir: {why}. Give another "
        "--state-dir, or put this one right."
    )


def check_state_dir(state_dir: Path) -> str:
    """A problem a reader can see without writing: '' when the dir looks writable.

    `rac status` runs in another process than the engine and must tell a full or read-only
    disk even when the engine cannot update `live.json` any more.
    """
    try:
        info = state_dir.stat()
    except FileNotFoundError:
        return ""
    except OSError as error:
        return f"cannot read {state_dir}: {why_not_written(error)}"
    if not stat.S_ISDIR(info.st_mode):
        return f"{state_dir} is not a directory (rac keeps its state in a directory there)"
    try:
        usage = os.statvfs(state_dir)
    except OSError:
        return ""
    if usage.f_flag & os.ST_RDONLY:
        return f"cannot write {state_dir}: {_WHY[errno.EROFS]}"
    if not os.access(state_dir, os.W_OK | os.X_OK):
        return f"cannot write {state_dir}: {_WHY[errno.EACCES]}"
    free = usage.f_bfree if os.geteuid() == 0 else usage.f_bavail  # root may use the reserve
    if free == 0:
        return f"cannot write {state_dir}: {_WHY[errno.ENOSPC]}"
    return ""


class StorageHealth:
    """The current storage problem of one state dir, and how many audit lines it cost."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._on_change = on_change
        self._problems: dict[str, str] = {}
        self.audit_lines_lost = 0

    @property
    def causes(self) -> str:
        """What fails and why, without the running count ('' when every write works)."""
        sentence = "; ".join(dict.fromkeys(self._problems.values()))
        return sentence[:1].upper() + sentence[1:]

    @property
    def problem(self) -> str:
        """One sentence for the operator, '' when every write works."""
        sentence = self.causes
        if not sentence:
            return ""
        if self.audit_lines_lost and "audit" in self._problems:
            plural = "" if self.audit_lines_lost == 1 else "s"
            sentence += f" ({self.audit_lines_lost} audit line{plural} not written)"
        return sentence + "."

    def listen(self, on_change: Callable[[], None]) -> None:
        """Call `on_change` whenever the problem sentence may have changed."""
        self._on_change = on_change

    def failed(self, what: str, path: Path, error: OSError) -> str:
        """A write of `what` (journal, audit, live) failed; returns the sentence."""
        sentence = storage_sentence(path, error)
        if self._problems.get(what) != sentence:
            self._problems[what] = sentence
            self._changed()
        return sentence

    def audit_line_lost(self, path: Path, error: OSError) -> None:
        """Count an audit line that could not be written (never raised into a login)."""
        self.audit_lines_lost += 1
        self._problems["audit"] = storage_sentence(path, error)
        self._changed()

    def worked(self, what: str) -> None:
        """A write of `what` went through again."""
        if self._problems.pop(what, None) is not None:
            self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()
