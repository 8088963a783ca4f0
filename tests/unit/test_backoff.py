"""Reconnect delays grow exponentially to a cap, with bounded jitter."""

from __future__ import annotations

import random

from tui.engine.backoff import FIRST_DELAY, JITTER, MAX_DELAY, backoff_delay


def test_delays_double_up_to_the_cap_within_the_jitter() -> None:
    rng = random.Random(1)
    for attempt in range(1, 12):
        base = min(MAX_DELAY, FIRST_DELAY * 2 ** (attempt - 1))
        delay = backoff_delay(attempt, rng)
        assert base * (1 - JITTER) <= delay <= base * (1 + JITTER)


def test_without_jitter_the_sequence_is_exact() -> None:
    rng = random.Random(1)
    assert [backoff_delay(n, rng, jitter=0.0) for n in range(1, 9)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        32.0,
        60.0,
        60.0,
    ]
    assert backoff_delay(0, rng, jitter=0.0) == FIRST_DELAY
