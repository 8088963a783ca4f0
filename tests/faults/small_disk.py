"""Real storage faults for tests: a small tmpfs that fills up or turns read-only.

Mounting needs root (or CAP_SYS_ADMIN); where it cannot be done the test is skipped with the
reason, never faked with a mock of `open`.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

FILLER = ".filler"


@contextlib.contextmanager
def small_disk(path: Path, size: str = "4m") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` for the block; unmounted after."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        why = mounted.stderr.strip() or "mount failed"
        pytest.skip(
            f"cannot mount a small tmpfs here ({why}): storage faults need root or CAP_SYS_ADMIN"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def fill(disk: Path) -> int:
    """Write a filler file until the disk says ENOSPC; returns the bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with (disk / FILLER).open("ab", buffering=0) as handle:
        while True:
            try:
                written += handle.write(chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                break
        # The last blocks: smaller writes until not one byte fits.
        for size in (4096, 512, 1):
            while True:
                try:
                    written += handle.write(b"\0" * size)
                except OSError:
                    break
    return written


def free(disk: Path) -> None:
    """Remove the filler: the disk has room again."""
    (disk / FILLER).unlink(missing_ok=True)


def remount(disk: Path, mode: str) -> None:
    """`ro` or `rw`."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(disk)], check=True, capture_output=True)
