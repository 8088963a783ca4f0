"""Wait for a condition the code under test does not announce as an event (a relay route),
checking often and giving up after a bound: never a sleep standing in for the condition."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

STEP = 0.02


async def until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `condition()` held; fails the test with `what` after `timeout`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not condition():
        if loop.time() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(STEP)
    return loop.time() - started
