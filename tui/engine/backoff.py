"""Reconnect delays: exponential from 1 s to a 60 s cap, ±20 % jitter so fleets don't stampede."""

from __future__ import annotations

import random

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
JITTER = 0.2


def backoff_delay(attempt: int, rng: random.Random, *, first: float = FIRST_DELAY,
                  cap: float = MAX_DELAY, jitter: float = JITTER) -> float:
    """Delay before retry number `attempt` (1-based)."""
    base = min(cap, first * 2.0 ** max(0, attempt - 1))
    return base * (1 + rng.uniform(-jitter, jitter))
