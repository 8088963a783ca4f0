"""Read the audit log for the console: the newest records of `audit.jsonl`, one line each.

The file is append-only and may be large after months of a big fleet: only its tail is read
(bounded in bytes), and a torn or foreign line is shown as it is, never a crash.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

TAIL_BYTES = 8 * 1024 * 1024
HIDDEN_FIELDS = frozenset({"ts", "action", "appliance", "run"})


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One record as the audit screen shows it."""

    ts: float | None
    action: str
    appliance: str
    rest: str

    @property
    def text(self) -> str:
        """The whole line, for the filter and for display."""
        when = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.ts))
            if self.ts is not None
            else "—" * 19
        )
        return f"{when}  {self.action:<22} {self.appliance:<14} {self.rest}".rstrip()


def parse_line(raw: str) -> AuditLine:
    """One JSON line into its displayed form (anything unreadable shown raw)."""
    try:
        record = json.loads(raw)
    except ValueError:
        return AuditLine(None, "(unreadable)", "", raw.strip()[:200])
    if not isinstance(record, dict):
        return AuditLine(None, "(unreadable)", "", raw.strip()[:200])
    ts = record.get("ts")
    rest = " ".join(
        f"{key}={_value(key, value)}"
        for key, value in record.items()
        if key not in HIDDEN_FIELDS and value not in (None, "")
    )
    return AuditLine(
        float(ts) if isinstance(ts, int | float) else None,
        str(record.get("action", "?")),
        str(record.get("appliance", "")),
        rest,
    )


def _value(key: str, value: object) -> str:
    if key.endswith("_at") and isinstance(value, int | float):
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(value))
    text = value if isinstance(value, str) else json.dumps(value)
    return f'"{text}"' if " " in text else text


def read_tail(path: Path, *, limit: int = TAIL_BYTES) -> tuple[list[AuditLine], int]:
    """The last records of `path` (oldest first) and the file offset read up to."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            start = max(0, size - limit)
            handle.seek(start)
            data = handle.read(size - start)
    except FileNotFoundError:
        return [], 0
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]  # the first one is cut in the middle
    complete, torn = lines[:-1], lines[-1]
    end = start + len(data) - len(torn)
    return [parse_line(line.decode("utf-8", "replace")) for line in complete if line], end


def read_after(path: Path, offset: int) -> tuple[list[AuditLine], int]:
    """Records appended since `offset` (whole lines only) and the new offset."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            if size < offset:  # replaced or truncated: start again
                return read_tail(path)
            handle.seek(offset)
            data = handle.read(size - offset)
    except FileNotFoundError:
        return [], 0
    cut = data.rfind(b"\n") + 1
    lines = data[:cut].split(b"\n")
    return ([parse_line(line.decode("utf-8", "replace")) for line in lines if line], offset + cut)
