"""Writes that survive a crash and a power cut: sync what was written, sync the directory
that names a new file.

A `kill -9` loses nothing that reached `write()` (it is in the kernel); a power cut loses
what was not `fsync`ed. So a file is replaced by writing a temporary file beside it, syncing
it, renaming it over the old one and syncing the directory (the rename is the commit point:
a reader sees the old file or the new one, never half of one). That writer is
`secure_files.write_private(..., durable=True)`; these are its parts that the journal's
appends share.
"""

from __future__ import annotations

import os
from pathlib import Path


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
