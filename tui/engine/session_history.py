"""Past and open (SERVICE) sessions, read back from the audit log and the recordings.

The audit log is the record of who came in; the recordings directory adds sessions whose
audit lines are gone (a rotated log) from the recording headers. Works on a state directory
an engine may be writing to (read only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tui.engine.errors import UsageError
from tui.engine.recorder import RECORDINGS, recording_path


@dataclass(frozen=True, slots=True)
class PastSession:
    """One support session as the audit log and its recording tell it."""

    session_id: str
    appliance: str
    engineer: str
    source: str
    started: float
    ended: float | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    recording: str = ""
    note: str = ""
    ended_by: str = ""

    @property
    def open(self) -> bool:
        """No end recorded (still open, or the process stopped without saying)."""
        return self.ended is None

    @property
    def duration(self) -> float | None:
        """Seconds from login to logout, when both are known."""
        return None if self.ended is None else max(0.0, self.ended - self.started)

    def to_json(self) -> dict[str, Any]:
        """The `rac sessions --json` form."""
        return {
            "id": self.session_id,
            "appliance": self.appliance,
            "engineer": self.engineer,
            "source": self.source,
            "started": self.started,
            "ended": self.ended,
            "duration": self.duration,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "recording": self.recording or None,
            "recording_note": self.note or None,
            "ended_by": self.ended_by or None,
        }


def read_sessions(state_dir: Path, appliance: str | None = None) -> list[PastSession]:
    """Every session known in `state_dir`, oldest first; only `appliance`'s if given."""
    found: dict[str, PastSession] = {}
    audit = state_dir / "audit.jsonl"
    if audit.exists():
        for line in audit.read_text(encoding="utf-8", errors="replace").splitlines():
            record = _json(line)
            if record is None:
                continue
            _fold(found, record)
    recordings = state_dir / RECORDINGS
    if recordings.is_dir():
        for path in sorted(recordings.glob("*.cast")):
            header = _header(path)
            session_id = header.get("session", "")
            if session_id and session_id not in found:
                found[session_id] = PastSession(
                    session_id,
                    str(header.get("appliance", "")),
                    str(header.get("engineer", "")),
                    str(header.get("source", "")),
                    float(header.get("timestamp", 0.0)),
                    recording=str(path),
                )
    sessions = sorted(found.values(), key=lambda s: (s.started, s.session_id))
    if appliance is not None:
        sessions = [s for s in sessions if s.appliance == appliance]
    return sessions


def find_recording(state_dir: Path, wanted: str) -> Path:
    """The recording of session `wanted` (an id like `mail-gw-1#3`, or a file path)."""
    as_path = Path(wanted).expanduser()
    if as_path.suffix == ".cast" and as_path.exists():
        return as_path
    for session in read_sessions(state_dir):
        if session.session_id == wanted and session.recording and Path(session.recording).exists():
            return Path(session.recording)
    direct = recording_path(state_dir / RECORDINGS, wanted)
    if direct.exists():
        return direct
    raise UsageError(
        f"No recording of session {wanted!r} in {state_dir / RECORDINGS}: "
        "`rac sessions` lists the sessions and their recordings."
    )


def _json(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None  # a line cut short by a crash
    return record if isinstance(record, dict) else None


def _fold(found: dict[str, PastSession], record: dict[str, Any]) -> None:
    action = record.get("action")
    session_id = str(record.get("session") or "")
    if action not in ("service-start", "service-end") or not session_id:
        return
    ts = float(record.get("ts") or 0.0)
    if action == "service-start":
        found[session_id] = PastSession(
            session_id,
            str(record.get("appliance", "")),
            str(record.get("engineer") or ""),
            str(record.get("source") or ""),
            ts,
            recording=str(record.get("recording") or ""),
        )
        return
    started = float(record.get("started") or ts - float(record.get("duration") or 0.0))
    before = found.get(session_id) or PastSession(
        session_id,
        str(record.get("appliance", "")),
        str(record.get("engineer") or ""),
        str(record.get("source") or ""),
        started,
    )
    found[session_id] = replace(
        before,
        ended=ts,
        bytes_in=int(record.get("bytes_in") or 0),
        bytes_out=int(record.get("bytes_out") or 0),
        recording=str(record.get("recording") or before.recording),
        note=str(record.get("recording_note") or ""),
        ended_by=str(record.get("ended_by") or ""),
    )


def _header(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
    except OSError:
        return {}
    header = _json(first) or {}
    rac = header.get("rac")
    if not isinstance(rac, dict):
        return {}
    return {**rac, "timestamp": header.get("timestamp", 0.0)}
