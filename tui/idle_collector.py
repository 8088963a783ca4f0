"""Full garbage collections when the operator is not typing.

With a thousand tunnels in the console's process, a full (generation 2) collection holds the
event loop for 0.1–0.25 s (measured in the console benchmark). Left to CPython it strikes at
random, often in the middle of a keystroke. Here automatic full collections are made rare and
run on a timer instead, skipped while keys are being pressed — but never postponed for long,
so memory is still reclaimed.
"""

from __future__ import annotations

import gc
import time

CHECK_EVERY = 20.0
QUIET_FOR = 3.0
LONGEST_WAIT = 300.0
RARE = 100_000


class IdleCollector:
    """Decides when a full collection may run; the app calls `tick` on a timer."""

    def __init__(self) -> None:
        self._last_key = 0.0
        self._last_collect = time.monotonic()
        self._thresholds = gc.get_threshold()

    def start(self) -> None:
        """Young generations stay automatic; the oldest is collected here."""
        young, middle, _ = self._thresholds
        gc.set_threshold(young, middle, RARE)

    def stop(self) -> None:
        """Give CPython its own policy back."""
        gc.set_threshold(*self._thresholds)

    def typed(self) -> None:
        """A key was pressed."""
        self._last_key = time.monotonic()

    def tick(self) -> None:
        """Collect if CPython would have by now, and the keyboard is quiet (or it is overdue).

        A steady fleet allocates little: then no full collection is due and none runs, so an
        idle console stays idle.
        """
        due = gc.get_count()[2] >= self._thresholds[2]
        if not due:
            return
        now = time.monotonic()
        quiet = now - self._last_key >= QUIET_FOR
        overdue = now - self._last_collect >= LONGEST_WAIT
        if quiet or overdue:
            gc.collect()
            self._last_collect = time.monotonic()
