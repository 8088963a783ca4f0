"""`rac sessions [NAME] [--json]` and `rac sessions play ID [--speed N]`: past support sessions."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from tui.engine.errors import UsageError
from tui.engine.locations import default_state_dir
from tui.engine.replay import read_recording, replay
from tui.engine.session_history import PastSession, find_recording, read_sessions
from tui.engine.session_tap import TermEvent
from tui.formatting import date_time, elapsed, format_bytes, source_host


def run_sessions_command(args: argparse.Namespace) -> int:
    """List sessions, or replay one in this terminal."""
    state_dir = (args.state_dir or default_state_dir()).expanduser()
    words = list(args.words)
    if words and words[0] == "play":
        if len(words) != 2:
            raise UsageError(
                "rac sessions play ID: name one session, e.g. "
                "rac sessions play mail-gw-1#3 (see rac sessions)."
            )
        if not args.speed > 0:
            raise UsageError(f"--speed {args.speed}: give a speed above zero, e.g. 2.")
        return _play(find_recording(state_dir, words[1]), args.speed)
    if len(words) > 1:
        raise UsageError(f"rac sessions [NAME]: one appliance at most (got {' '.join(words)}).")
    sessions = read_sessions(state_dir, words[0] if words else None)
    if args.json:
        print(json.dumps({"sessions": [s.to_json() for s in sessions]}, indent=2))
        return 0
    if not sessions:
        where = f" of {words[0]}" if words else ""
        print(f"No support session{where} recorded in {state_dir}.")
        return 0
    print(
        f"{'SESSION':<18} {'ENGINEER':<12} {'FROM':<16} {'STARTED':<17} {'DURATION':>9} "
        f"{'IN':>10} {'OUT':>10}  RECORDING"
    )
    for session in sessions:
        print(_row(session))
    return 0


def _row(session: PastSession) -> str:
    duration = elapsed(session.started, session.ended) if session.ended else "open"
    recording = session.recording or "— (not recorded)"
    notes = [
        n
        for n in (session.note, "ended by the operator" if session.ended_by == "operator" else "")
        if n
    ]
    tail = f"  ({'; '.join(notes)})" if notes else ""
    return (
        f"{session.session_id:<18} {session.engineer or '—':<12} "
        f"{source_host(session.source):<16} {date_time(session.started):<17} "
        f"{duration:>9} {format_bytes(session.bytes_in):>10} "
        f"{format_bytes(session.bytes_out):>10}  {recording}{tail}"
    )


def _play(path: Path, speed: float) -> int:
    recording = read_recording(path)
    out = sys.stdout.buffer

    def show(event: TermEvent) -> None:
        if event.code == "o":
            out.write(event.data.encode("utf-8", "replace"))
            out.flush()

    header = recording.header.get("rac", {})
    print(
        f"rac: replaying {header.get('session', path.name)} "
        f"({recording.width}×{recording.height}, engineer "
        f"{header.get('engineer') or '?'}) at {speed:g}×; ctrl+c stops.",
        file=sys.stderr,
    )
    try:
        asyncio.run(replay(recording, show, speed=speed))
    except KeyboardInterrupt:
        return 130
    print("\r\nrac: end of the recording.", file=sys.stderr)
    return 0
