"""Connections that never logged in, audited as counters: one line per source per interval,
so a flood costs the audit log a few hundred bytes a minute instead of a line per attempt."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tui.engine.audit import AuditLog
from tui.engine.relay.admission import Outcome

MAX_SOURCES_PER_INTERVAL = 1000
MAX_USERS_PER_SOURCE = 5
MAX_USER_CHARS = 64
OTHER_SOURCES = "other"


@dataclass(slots=True)
class _Tally:
    counts: Counter[str] = field(default_factory=Counter)
    users: list[str] = field(default_factory=list)


class RefusalCounters:
    """Tallies per source between flushes; `flush` writes one `auth-rejected` line each."""

    def __init__(self, audit: AuditLog, interval: float) -> None:
        self._audit = audit
        self._interval = interval
        self._tallies: dict[str, _Tally] = {}

    def count(self, source: str, outcome: Outcome, user: str = "") -> None:
        """One connection from `source` ended with `outcome` (as `user`, if it said one)."""
        tally = self._tallies.get(source)
        if tally is None:
            if len(self._tallies) >= MAX_SOURCES_PER_INTERVAL:
                source = OTHER_SOURCES
            tally = self._tallies.setdefault(source, _Tally())
        tally.counts[outcome.value] += 1
        name = user[:MAX_USER_CHARS]
        if name and name not in tally.users and len(tally.users) < MAX_USERS_PER_SOURCE:
            tally.users.append(name)

    def flush(self) -> None:
        """Write what was counted since the last flush and start again."""
        tallies, self._tallies = self._tallies, {}
        for source, tally in tallies.items():
            self._audit.write(
                "auth-rejected",
                source=source,
                interval_s=self._interval,
                connections=sum(tally.counts.values()),
                **dict(sorted(tally.counts.items())),
                users=tally.users,
            )
