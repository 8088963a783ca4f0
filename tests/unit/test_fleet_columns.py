"""Which fleet-table columns fit a terminal width (the Line-API table's layout rule)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from widgets.fleet_table import COLUMNS, GAP, Column, fit_columns


def _width(columns: Iterable[Column]) -> int:
    return sum(c.width + GAP for c in columns)


def test_a_wide_terminal_shows_every_column_and_widens_the_growing_ones() -> None:
    natural = _width(list(COLUMNS))
    columns = fit_columns(natural + 11)
    assert [c.key for c in columns] == [c.key for c in COLUMNS]
    assert _width(columns) == natural + 11
    grown = {c.key: c.width - o.width for c, o in zip(columns, COLUMNS, strict=True)}
    assert grown["relay"] + grown["service"] == 11 and abs(grown["relay"] - grown["service"]) <= 1


@pytest.mark.parametrize("width", [150, 120, 100, 80, 60, 40, 20])
def test_narrow_terminals_drop_the_least_important_first(width: int) -> None:
    columns = fit_columns(width)
    keys = [c.key for c in columns]
    assert {"name", "state", "service"} <= set(keys)  # never dropped
    dropped = [c for c in COLUMNS if c.key not in keys]
    kept = [c for c in COLUMNS if c.key in keys and c.keep < 100]
    assert all(d.keep <= k.keep for d in dropped for k in kept)
    if dropped and kept:
        assert _width(columns) <= width


def test_the_order_of_columns_never_changes() -> None:
    order = [c.key for c in COLUMNS]
    for width in range(20, 200, 7):
        keys = [c.key for c in fit_columns(width)]
        assert keys == [k for k in order if k in keys]
