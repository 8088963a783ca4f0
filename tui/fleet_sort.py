"""Sorting the fleet table by a column: the operator of 1,000 appliances looks for the oldest
failure, the next to expire, who is inside. Inventory order stays the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tui.fleet_rows import FleetRow
from tui.state_style import Tone, tone_of

# Worst first when sorting by state: what needs the operator comes to the top.
_TONE_RANK = {
    Tone.FAILED: 0,
    Tone.RETRYING: 1,
    Tone.SERVICE: 2,
    Tone.CONNECTING: 3,
    Tone.UP: 4,
    Tone.DOWN: 5,
}

SortKey = Callable[[FleetRow], tuple[object, ...]]

_KEYS: dict[str, SortKey] = {
    "name": lambda r: (r.name.lower(),),
    "model": lambda r: (r.model.lower(), r.name.lower()),
    "serial": lambda r: (r.serial.lower(),),
    "mode": lambda r: (r.mode, r.name.lower()),
    "state": lambda r: (_TONE_RANK[tone_of(r.state)], r.state.value, -r.attempt, r.name.lower()),
    "port": lambda r: (int(r.port) if r.port.isdigit() else 65536, r.name.lower()),
    "relay": lambda r: (r.relay.lower(), r.name.lower()),
    "since": lambda r: (r.since_at is None, r.since_at or 0.0, r.name.lower()),
    "expires": lambda r: (r.expires_at is None, r.expires_at or 0.0, r.name.lower()),
    "service": lambda r: (not r.in_service, r.engineer.lower(), r.name.lower()),
}
SORTABLE = tuple(_KEYS)


@dataclass(frozen=True, slots=True)
class FleetSort:
    """A column to sort by (None: inventory order) and the direction."""

    column: str | None = None
    descending: bool = False

    def apply(self, rows: list[FleetRow]) -> list[FleetRow]:
        """`rows` in this order (stable: ties keep inventory order)."""
        if self.column is None:
            return rows
        return sorted(rows, key=_KEYS[self.column], reverse=self.descending)

    def key(self, row: FleetRow) -> tuple[object, ...] | None:
        """What this sort compares for `row` (None in inventory order)."""
        return None if self.column is None else _KEYS[self.column](row)

    def next_column(self) -> FleetSort:
        """`s`: inventory order → name → … → support → inventory order."""
        if self.column is None:
            return FleetSort(SORTABLE[0])
        index = SORTABLE.index(self.column) + 1
        return FleetSort(SORTABLE[index] if index < len(SORTABLE) else None)

    def by(self, column: str) -> FleetSort:
        """A click on a column header: sort by it, or flip the direction if it already is."""
        if column not in _KEYS:
            return self
        if column == self.column:
            return FleetSort(column, not self.descending)
        return FleetSort(column)

    def reversed(self) -> FleetSort:
        """`S`: the other direction."""
        return FleetSort(self.column, not self.descending) if self.column else self

    @property
    def label(self) -> str:
        """For the sub title: "sorted by state ▲"."""
        if self.column is None:
            return ""
        return f"sorted by {self.column} {'▼' if self.descending else '▲'}"
