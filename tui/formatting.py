"""How times, durations, byte counts, addresses and paths read on screen."""

from __future__ import annotations

import time
from pathlib import Path

from tui.engine.durations import format_duration


def clock_time(ts: float | None) -> str:
    """`14:03:12` in local time, or a dash."""
    return time.strftime("%H:%M:%S", time.localtime(ts)) if ts else "—"


def date_time(ts: float | None) -> str:
    """`2026-12-06 14:03` in local time, or a dash."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "—"


def countdown(until: float | None, now: float) -> str:
    """Time left until `until`, or a dash."""
    if until is None:
        return "—"
    return format_duration(until - now)


def elapsed(since: float | None, now: float) -> str:
    """Time since `since` as h:mm:ss."""
    if since is None:
        return "—"
    seconds = max(0, int(now - since))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def format_bytes(count: int) -> str:
    """`812 B`, `5.4 KiB`, `12.0 MiB`."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def source_host(source: str) -> str:
    """`127.0.0.1:40236` → `127.0.0.1` (the port is noise for an operator)."""
    host, sep, port = source.rpartition(":")
    return host if sep and port.isdigit() else source


def home_path(path: Path) -> str:
    """`/home/ana/.local/state/rac/…` → `~/.local/state/rac/…`: a file under the home
    directory reads as the shell writes it (shorter in a title, and the same on every
    machine)."""
    try:
        return f"~/{path.relative_to(Path.home())}"
    except (ValueError, RuntimeError):  # elsewhere, or no home directory to speak of
        return str(path)
