"""Read small files safely: only regular files, only up to a bound.

A path to `/dev/zero`, a FIFO or a multi-gigabyte file given as an inventory, a config or a
seed file must be refused at once with a sentence, not read until memory runs out or block
for ever. The file is opened without blocking and checked on the opened descriptor, so it
cannot be swapped between the check and the read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

CONFIG_LIMIT = 1024 * 1024
"""Inventories and relay configs: a fleet of thousands fits in well under a megabyte."""
KEY_LIMIT = 64 * 1024
"""SSH keys, certificates and seed files."""


class UnreadableFile(ValueError):
    """The file is missing, not a regular file, too big or unreadable; says which."""


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them, else UnreadableFile."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UnreadableFile("no such file") from None
    except OSError as error:
        raise UnreadableFile(f"cannot be opened ({error.strerror or error})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise UnreadableFile(f"is {info.st_size} bytes long; at most {limit} are read")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, limit + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise UnreadableFile(f"grew past {limit} bytes while being read")
        return b"".join(chunks)
    except OSError as error:
        raise UnreadableFile(f"cannot be read ({error.strerror or error})") from None
    finally:
        os.close(fd)


def read_bounded_text(path: Path, limit: int) -> str:
    """`read_bounded` decoded as UTF-8."""
    data = read_bounded(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"is not UTF-8 text (byte {error.start + 1})") from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
