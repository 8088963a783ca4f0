"""Measures, statistics and the result table of the benchmark run."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Goal(StrEnum):
    """How a measure passes."""

    RATIO_AT_MOST = "ratio ≤"
    RATIO_AT_LEAST = "ratio ≥"
    VALUE_AT_MOST = "value ≤"
    VALUE_AT_LEAST = "value ≥"


@dataclass(frozen=True, slots=True)
class Samples:
    """Repeated measurements of one thing, in one unit."""

    values: tuple[float, ...]
    unit: str

    @property
    def median(self) -> float:
        """The median (what the table compares)."""
        return statistics.median(self.values)

    def describe(self) -> str:
        """`12.3 ms (11.9–14.0, n=5)`."""
        if not self.values:
            return "—"
        low, high = min(self.values), max(self.values)
        return f"{_fmt(self.median)} {self.unit} ({_fmt(low)}–{_fmt(high)}, n={len(self.values)})"


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass(slots=True)
class Result:
    """One row of the table."""

    measure: str
    rac: Samples
    reference: Samples | None
    goal: Goal
    target: float
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """rac / reference (medians), when there is a reference."""
        if self.reference is None or not self.reference.values or self.reference.median == 0:
            return None
        return self.rac.median / self.reference.median

    @property
    def passed(self) -> bool:
        """Whether the target is met."""
        if self.goal is Goal.VALUE_AT_MOST:
            return bool(self.rac.values) and self.rac.median <= self.target
        if self.goal is Goal.VALUE_AT_LEAST:
            return bool(self.rac.values) and self.rac.median >= self.target
        ratio = self.ratio
        if ratio is None:
            return False
        if self.goal is Goal.RATIO_AT_MOST:
            return ratio <= self.target
        return ratio >= self.target

    def to_json(self) -> dict[str, Any]:
        """A JSON row."""

        def samples(s: Samples | None) -> dict[str, Any] | None:
            if s is None:
                return None
            return {
                "unit": s.unit,
                "median": s.median if s.values else None,
                "min": min(s.values) if s.values else None,
                "max": max(s.values) if s.values else None,
                "values": list(s.values),
            }

        return {
            "measure": self.measure,
            "rac": samples(self.rac),
            "reference": samples(self.reference),
            "ratio": self.ratio,
            "goal": self.goal.value,
            "target": self.target,
            "passed": self.passed,
            "note": self.note,
            **self.extra,
        }


def render_table(results: Sequence[Result]) -> str:
    """The table printed at the end (also pasted into the README)."""
    header = "| measure | rac | reference | ratio | target | result |\n|---|---|---|---|---|---|"
    rows = []
    for result in results:
        ratio = "—" if result.ratio is None else f"{result.ratio:.2f}×"
        reference = result.reference.describe() if result.reference else "—"
        if result.goal is Goal.VALUE_AT_MOST:
            target = f"≤ {result.target:g} {result.rac.unit}"
        elif result.goal is Goal.VALUE_AT_LEAST:
            target = f"≥ {result.target:g} {result.rac.unit}"
        else:
            target = f"{'≤' if result.goal is Goal.RATIO_AT_MOST else '≥'} {result.target:g}×"
        verdict = "pass" if result.passed else "FAIL"
        note = f" — {result.note}" if result.note else ""
        rows.append(
            f"| {result.measure} | {result.rac.describe()} | {reference} | {ratio} | "
            f"{target} | {verdict}{note} |"
        )
    return "\n".join([header, *rows])


def write_json(results: Sequence[Result], path: Path, quick: bool) -> None:
    """The same results as JSON."""
    document = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "quick": quick,
        "results": [result.to_json() for result in results],
    }
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
