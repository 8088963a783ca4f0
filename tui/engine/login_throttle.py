"""Admission to the built-in (SERVICE) endpoint: how many logins, how fast, how many tries.

Anyone holding the support CA (every engineer) can mint certificates for any seed, so the
endpoint is where seed guessing must be made slow. The limits follow OpenSSH: MaxAuthTries
(6 attempts per connection), MaxSessions (10 channels per connection), MaxStartups (a cap on
logins in progress) and PerSourcePenalties (a growing delay after failures). The delay is per
appliance, not per source: behind the relay every engineer is one hop away, and a guesser
may come from many addresses. A correct certificate still gets in once the delay has passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """The endpoint's limits (defaults as OpenSSH's where it has one)."""

    max_attempts: int = 6
    """Failed credentials per connection before it is cut (OpenSSH MaxAuthTries)."""
    max_channels: int = 10
    """Sessions open at once on one connection (OpenSSH MaxSessions)."""
    max_pending: int = 8
    """Logins in progress (waiting or authenticating) per appliance."""
    free_failures: int = 3
    """Failed logins that cost nothing (typos, an engineer's ssh agent offering keys)."""
    first_delay: float = 1.0
    """The delay after the first failure past the free ones; it doubles with each next one."""
    max_delay: float = 30.0
    forget_after: float = 600.0
    """Quiet time after which past failures are forgiven."""


class LoginThrottle:
    """One appliance's logins in progress and its failure penalty."""

    def __init__(
        self, policy: LoginPolicy | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or LoginPolicy()
        self._clock = clock
        self.pending = 0
        self.failures = 0
        self._last_failure = 0.0
        self._next_slot = 0.0

    def try_begin(self) -> bool:
        """Count a new login in progress; False when too many are already in progress."""
        if self.pending >= self.policy.max_pending:
            return False
        self.pending += 1
        return True

    def delay(self) -> float:
        """The spacing between new logins now (0 while failures are few)."""
        self._forgive()
        excess = self.failures - self.policy.free_failures
        if excess <= 0:
            return 0.0
        return min(self.policy.max_delay, self.policy.first_delay * 2.0 ** min(excess - 1, 30))

    def wait_before_login(self) -> float:
        """Seconds this new login waits for its turn: under penalty logins go one per delay."""
        delay = self.delay()
        if delay <= 0:
            return 0.0
        now = self._clock()
        start = max(now, self._next_slot)
        self._next_slot = start + delay
        return start - now

    def finished(self, *, authenticated: bool, failed: bool) -> None:
        """A login in progress ended: in, refused after trying credentials, or just gone."""
        self.pending = max(0, self.pending - 1)
        if authenticated:
            self.failures = 0
            self._next_slot = 0.0
        elif failed:
            self._forgive()
            self.failures += 1
            now = self._clock()
            self._last_failure = now
            self._next_slot = max(self._next_slot, now + self.delay())

    def _forgive(self) -> None:
        if self.failures and self._clock() - self._last_failure > self.policy.forget_after:
            self.failures = 0
            self._next_slot = 0.0
