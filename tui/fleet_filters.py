"""Quick state filters for a large fleet: one key shows only what is up, failing, in
(SERVICE) or enabled. They combine with the `/` text filter.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from tui.fleet_rows import FleetRow
from tui.state_style import Tone, tone_of


class QuickFilter(StrEnum):
    """Which rows the fleet shows, by state."""

    ALL = "all"
    UP = "up"
    FAILING = "failing"
    SERVICE = "in SERVICE"
    ENABLED = "enabled"


_TESTS: dict[QuickFilter, Callable[[FleetRow], bool]] = {
    QuickFilter.ALL: lambda row: True,
    QuickFilter.UP: lambda row: row.state.is_up,
    QuickFilter.FAILING: lambda row: tone_of(row.state) in (Tone.FAILED, Tone.RETRYING),
    QuickFilter.SERVICE: lambda row: row.in_service,
    QuickFilter.ENABLED: lambda row: row.enabled,
}

# The keys 1…5 pick these, in this order.
QUICK_FILTERS = tuple(QuickFilter)


def passes(row: FleetRow, quick: QuickFilter) -> bool:
    """Whether `row` is shown under `quick`."""
    return _TESTS[quick](row)
