"""Back as soon as the path is: while an agent waits out its backoff after the relay went
unreachable, a cheap check (resolve, TCP connect, read the SSH banner) ends the wait early
once the relay answers again.

The checks are bounded: one loop per relay target however many agents of this process wait
on it, one check every `every` seconds ±`jitter` (so a fleet of separate appliances does not
check in step), and never a second check before the first ends. The full backoff still
governs attempts that reached the relay and failed in the handshake: only a relay that did
not answer at all is watched for.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

CHECK_EVERY = 2.5
CHECK_JITTER = 0.4
# What a check says after the relay's banner, before it closes: the relay counts it as a
# check, not as a login that was never tried (which costs the source a penalty), so a fleet
# behind one address is not locked out by its own checks when the relay comes back.
CHECK_IDENT = b"SSH-2.0-rac_reachability_check"

Check = Callable[[], Awaitable[bool]]


@dataclass(slots=True)
class _Watched:
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    waiters: int = 0
    task: asyncio.Task[None] | None = None


class ReachabilityChecks:
    """Shared reachability checks of one process, one loop per target."""

    def __init__(
        self, rng: random.Random, *, every: float = CHECK_EVERY, jitter: float = CHECK_JITTER
    ) -> None:
        self._rng = rng
        self.every = every
        self.jitter = jitter
        self._targets: dict[Hashable, _Watched] = {}
        self.checks_made = 0

    async def wait(self, target: Hashable, check: Check, longest: float) -> bool:
        """Wait up to `longest` seconds; True as soon as `check` finds `target` answering."""
        watched = self._targets.get(target)
        if watched is None:
            watched = self._targets[target] = _Watched()
            watched.task = asyncio.get_running_loop().create_task(
                self._check_until_answered(target, watched, check),
                name=f"rac-reachability-{target}",
            )
        watched.waiters += 1
        try:
            async with asyncio.timeout(longest):
                await watched.answered.wait()
            return True
        except TimeoutError:
            return False
        finally:
            watched.waiters -= 1
            if watched.waiters == 0 and self._targets.get(target) is watched:
                del self._targets[target]
                if watched.task is not None:
                    watched.task.cancel()

    async def _check_until_answered(
        self, target: Hashable, watched: _Watched, check: Check
    ) -> None:
        while True:
            await asyncio.sleep(self.every * (1 + self._rng.uniform(-self.jitter, self.jitter)))
            self.checks_made += 1
            try:
                if await check():
                    break
            except OSError:  # a check that fails in a way of its own: the relay did not answer
                continue
        # Later waiters start a fresh watch: this answer is about now, not about then.
        if self._targets.get(target) is watched:
            del self._targets[target]
        watched.answered.set()

    async def close(self) -> None:
        """Stop every check loop (the process is shutting down)."""
        tasks = [w.task for w in self._targets.values() if w.task is not None]
        self._targets.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
