"""Reconnect delays: exponential from 1 s to a 60 s cap, ±20 % jitter so fleets don't stampede."""

from __future__ import annotations

import random

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
JITTER = 0.2


def backoff_delay(
    attempt: int,
    rng: random.Random,
    *,
    first: float = FIRST_DELAY,
    cap: float = MAX_DELAY,
    jitter: float = JITTER,
    full_jitter: bool = False,
) -> float:
    """Delay before retry number `attempt` (1-based). With `full_jitter` (a cluster's agents)
    it is anywhere from 0 to the exponential bound, so a thousand agents that lost one node
    together come back spread out instead of in waves."""
    base = min(cap, first * 2.0 ** max(0, attempt - 1))
    if full_jitter:
        return rng.uniform(0, base)
    return base * (1 + rng.uniform(-jitter, jitter))
