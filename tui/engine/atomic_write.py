"""Writes that survive a crash and a power cut: replace through a synced temporary file, sync
appends, sync the directory that names a new file.

A `kill -9` loses nothing that reached `write()` (it is in the kernel); a power cut loses
what was not `fsync`ed. So a file is replaced by writing a temporary file beside it, syncing
it, renaming it over the old one and syncing the directory (the rename is the commit point:
a reader sees the old file or the new one, never half of one).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_FILE = 0o600


def replace_durably(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data`, mode 0600, atomically and on disk when this returns."""
    payload = data.encode() if isinstance(data, str) else data
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE_FILE)
    try:
        try:
            write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make the names in `directory` (a rename, a new file) survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """`os.write` until every byte is out (a short write on a nearly full disk is possible)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
