"""Full garbage collections when the operator is not typing.

With a thousand tunnels in the console's process, a full (generation 2) collection holds the
event loop for 0.1–0.25 s (measured in the console benchmark). Left to CPython it strikes at
random, often in the middle of a keystroke. Here automatic full collections are made rare and
run on a timer instead, skipped while keys are being pressed — but never postponed for long,
so memory is still reclaimed.

While the console starts (imports, the first frame, the lab) it makes objects that live as
long as the process and almost no garbage, yet CPython runs dozens of collections that walk
them all: the console holds collections until it is up, then freezes what start-up made (the
later collections skip it) and gives the collector back.
"""

from __future__ import annotations

import gc
import time

CHECK_EVERY = 20.0
QUIET_FOR = 3.0
SHORTEST_GAP = 120.0
LONGEST_WAIT = 300.0
RARE = 100_000

_held = False


def hold_collections_for_start() -> None:
    """No automatic collections until `release_collections_after_start` (the `rac` console
    calls it before importing Textual)."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def release_collections_after_start() -> None:
    """Start-up is over: what it made moves out of the collector's way, collections resume.
    Does nothing unless the collections were held (tests run the app without holding)."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()


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
        """Collect when the keyboard is quiet — at most every SHORTEST_GAP seconds, and only if
        younger collections have run since — or when LONGEST_WAIT has passed regardless.

        One full collection costs ~0.25 s with a thousand tunnels: every two minutes that is
        0.2 % of a core, where CPython's own pace under keepalive traffic would be several a
        minute.
        """
        now = time.monotonic()
        since = now - self._last_collect
        if since >= LONGEST_WAIT or (
            since >= SHORTEST_GAP
            and gc.get_count()[2] >= self._thresholds[2]
            and now - self._last_key >= QUIET_FOR
        ):
            gc.collect()
            self._last_collect = time.monotonic()
