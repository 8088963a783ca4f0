"""Read an asciicast v2 recording back, and replay it at its own pace (or faster).

Long pauses are shortened to IDLE_LIMIT, as `asciinema play -i` does: nobody wants to
watch an engineer think for ten minutes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.engine.errors import RacError
from tui.engine.session_tap import TermCode, TermEvent

IDLE_LIMIT = 2.0


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording's header and its events, in order."""

    path: Path
    width: int
    height: int
    header: dict[str, Any]
    events: tuple[TermEvent, ...]

    @property
    def output(self) -> str:
        """Everything the engineer's terminal was sent."""
        return "".join(e.data for e in self.events if e.code == "o")


def read_recording(path: Path) -> Recording:
    """Parse `path`; a file that is not asciicast v2 is named with the line that is wrong."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        raise RacError(f"Cannot read {path}: {error.strerror or error}.") from None
    if not lines:
        raise RacError(f"{path} is empty: not an asciicast recording.")
    try:
        header = json.loads(lines[0])
        if not isinstance(header, dict) or header.get("version") != 2:
            raise ValueError("the first line is not an asciicast v2 header")
        width, height = int(header["width"]), int(header["height"])
    except (ValueError, KeyError, TypeError) as error:
        raise RacError(f"{path}, line 1: not an asciicast v2 header ({error}).") from None
    return Recording(path, width, height, header, tuple(_events(path, lines)))


def _events(path: Path, lines: list[str]) -> Iterator[TermEvent]:
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            t, code, data = json.loads(line)
        except ValueError as error:
            if number == len(lines):
                return  # the last line of a recording cut short
            raise RacError(f"{path}, line {number}: not an asciicast event ({error}).") from None
        if code in ("o", "i", "r"):
            kind: TermCode = code
            yield TermEvent(kind, str(data), float(t))


def paced(
    events: tuple[TermEvent, ...], speed: float = 1.0, idle_limit: float = IDLE_LIMIT
) -> Iterator[tuple[float, TermEvent]]:
    """(delay before it, event) for each event, at `speed`, long pauses cut to `idle_limit`."""
    last = 0.0
    for event in events:
        gap = min(max(0.0, event.t - last), idle_limit)
        last = event.t
        yield gap / speed, event


async def replay(
    recording: Recording,
    show: Callable[[TermEvent], Awaitable[None] | None],
    *,
    speed: float = 1.0,
    speed_of: Callable[[], float] | None = None,
) -> None:
    """Hand each event to `show` at the recording's pace (`speed_of` may change it live)."""
    for delay, event in paced(recording.events, 1.0):
        if delay > 0:
            await asyncio.sleep(delay / (speed_of() if speed_of else speed))
        shown = show(event)
        if shown is not None:
            await shown
