"""The console's view of the engine: per-appliance status, log lines and session history.

Engine events land here first; the screens read from here. Nothing in it is computed that the
engine did not report, so a screen can never show a state the engine did not reach.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from tui.engine.events import (
    Event,
    Level,
    LogRecord,
    SeedIssued,
    ServiceEnded,
    ServiceStarted,
    StateChanged,
    StorageChanged,
)
from tui.engine.states import TunnelState
from tui.engine.status import ApplianceStatus
from tui.formatting import elapsed, format_bytes, source_host
from tui.state_style import state_label

LOG_LIMIT = 500
FLEET_LOG_LIMIT = 1000

_STATE_LEVEL = {
    TunnelState.RETRYING: Level.WARNING,
    TunnelState.HOST_KEY_UNKNOWN: Level.WARNING,
    TunnelState.HOST_KEY_MISMATCH: Level.ERROR,
    TunnelState.SUPERSEDED: Level.ERROR,
    TunnelState.EXPIRED: Level.WARNING,
    TunnelState.WAITING_GATEWAY: Level.WARNING,
}


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a log pane; `seq` orders every line the console has seen."""

    seq: int
    ts: float
    appliance: str
    level: Level
    text: str


@dataclass(slots=True)
class SessionRecord:
    """A (SERVICE) session of the current enablement, open or ended."""

    session_id: str
    source: str
    started: float
    engineer: str = ""
    ended: float | None = None
    bytes_in: int = 0
    bytes_out: int = 0


@dataclass(slots=True)
class ApplianceView:
    """Everything the console shows about one appliance."""

    status: ApplianceStatus
    seed: str | None = None
    log: deque[LogLine] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    history: dict[str, SessionRecord] = field(default_factory=dict)
    enablement: float | None = None
    probe: dict[int, bool] = field(default_factory=dict)


class EngineView(Protocol):
    """What the model reads from the engine: statuses and seeds (never a tunnel to drive)."""

    def statuses(self) -> Iterable[ApplianceStatus]:
        """Every appliance's status, in inventory order."""
        ...

    def status(self, name: str) -> ApplianceStatus:
        """One appliance's live status."""
        ...

    def seed(self, name: str) -> str | None:
        """The seed in force on one appliance, if any."""
        ...


class FleetModel:
    """Applies engine events; remembers which appliances changed since the screens last looked."""

    def __init__(self, engine: EngineView) -> None:
        self.engine = engine
        self.views: dict[str, ApplianceView] = {}
        for status in engine.statuses():
            view = ApplianceView(
                status, seed=engine.seed(status.name), enablement=status.enabled_at
            )
            self.views[status.name] = view
        self.fleet_log: deque[LogLine] = deque(maxlen=FLEET_LOG_LIMIT)
        self.changed: set[str] = set()
        self._seq = itertools.count(1)

    def take_changed(self) -> set[str]:
        """Names changed since the last call."""
        changed, self.changed = self.changed, set()
        return changed

    def refresh(self, name: str) -> ApplianceView:
        """Re-read one appliance's live status (session byte counters move without events)."""
        view = self.views[name]
        view.status = self.engine.status(name)
        for session in view.status.sessions:
            record = view.history.get(session.session_id)
            if record is not None:
                record.bytes_in, record.bytes_out = session.bytes_in, session.bytes_out
        return view

    def apply(self, event: Event) -> None:
        """Fold one engine event into the view."""
        name = event.appliance
        if not name:
            self._fleet_event(event)
            return
        view = self.views.get(name)
        if view is None:
            return
        self.changed.add(name)
        self.refresh(name)
        if view.status.enabled and view.status.enabled_at != view.enablement:
            view.enablement = view.status.enabled_at
            view.history.clear()
            view.probe.clear()
        entry = self._line(view, event)
        if entry is not None:
            level, text = entry
            self.add_line(name, level, text, event.ts)

    def _fleet_event(self, event: Event) -> None:
        """An event about the whole fleet (the state dir): the fleet log, and every view."""
        if isinstance(event, LogRecord):
            self.add_line("", event.level, event.message, event.ts)
        elif isinstance(event, StorageChanged):
            for name in self.views:
                self.refresh(name)
            self.changed.update(self.views)
            if event.problem:
                self.add_line("", Level.ERROR, f"state not saved: {event.problem}", event.ts)
            else:
                self.add_line(
                    "",
                    Level.INFO,
                    "the state dir takes writes again; everything is saved",
                    event.ts,
                )
        self.changed.add("")

    def add_line(self, name: str, level: Level, text: str, ts: float) -> LogLine:
        """Append a line to an appliance's log (or only the fleet's, for name "")."""
        line = LogLine(next(self._seq), ts, name, level, text)
        view = self.views.get(name)
        if view is not None:
            view.log.append(line)
        self.fleet_log.append(line)
        return line

    def _line(self, view: ApplianceView, event: Event) -> tuple[Level, str] | None:
        if isinstance(event, StateChanged):
            where = f" port {event.port}" if event.port else ""
            why = f" — {event.reason}: {event.detail}" if event.reason else ""
            level = _STATE_LEVEL.get(event.state, Level.INFO)
            if event.state.is_connecting:
                level = Level.DEBUG  # the stage track shows these; the log keeps them quiet
            return level, f"{state_label(event.state)}{where}{why}"
        if isinstance(event, LogRecord):
            return event.level, event.message
        if isinstance(event, SeedIssued):
            view.seed = event.seed
            return Level.INFO, "a new seed is in force (see the Seed panel; it never enters a log)"
        if isinstance(event, ServiceStarted):
            view.history[event.session_id] = SessionRecord(
                event.session_id, event.source, event.ts, event.engineer
            )
            who = event.engineer or "support"
            return (
                Level.WARNING,
                f"(SERVICE) {who} is inside: session {event.session_id} "
                f"from {source_host(event.source)}",
            )
        if isinstance(event, ServiceEnded):
            record = view.history.get(event.session_id)
            if record is not None:
                record.ended = event.ts
                record.bytes_in, record.bytes_out = event.bytes_in, event.bytes_out
            return (
                Level.INFO,
                f"(SERVICE) session {event.session_id} ended after "
                f"{elapsed(event.ts - event.duration, event.ts)} "
                f"({format_bytes(event.bytes_in)} in, "
                f"{format_bytes(event.bytes_out)} out)",
            )
        return None

    def record_probe(self, name: str, results: dict[int, bool]) -> None:
        """Mark which ports worked in the last connectivity test."""
        view = self.views.get(name)
        if view is not None:
            view.probe = dict(results)
            self.changed.add(name)


def lines_after(lines: deque[LogLine], seq: int) -> list[LogLine]:
    """The lines newer than `seq`, oldest first (walks back from the tail only)."""
    newer: list[LogLine] = []
    for line in reversed(lines):
        if line.seq <= seq:
            break
        newer.append(line)
    newer.reverse()
    return newer
