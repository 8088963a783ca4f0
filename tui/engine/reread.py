"""Files read on every connection (pins, engineer keys) are parsed again only when they change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_parsed: dict[tuple[Path, Callable[..., Any]], tuple[tuple[int, int], Any]] = {}


def parsed(path: Path, parse: Callable[[Path], T], missing: T) -> T:
    """`parse(path)`, reused while the file's size and modification time stay the same;
    `missing` when there is no such file."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return missing
    version = (stat.st_mtime_ns, stat.st_size)
    cached = _parsed.get((path, parse))
    if cached is None or cached[0] != version:
        cached = (version, parse(path))
        _parsed[(path, parse)] = cached
    result: T = cached[1]
    return result
