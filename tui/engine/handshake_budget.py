"""How long the SSH handshake, login and forward request may take, adapted to the link.

The TCP connect keeps its own short timeout (a firewall that drops is found fast). What comes
after it costs round trips and a few kilobytes of key exchange, so on a satellite link with a
congested hop it takes many seconds: the budget grows with the time the relay's banner took
to arrive, stays between a floor and a ceiling, and doubles after each `ssh-timeout` in a row
so a link slower than it guessed still comes up.
"""

from __future__ import annotations

from dataclasses import dataclass

# The handshake, login and forward take about a dozen round trips; the banner took one or two.
ROUND_TRIPS = 15


@dataclass(frozen=True, slots=True)
class HandshakeLimits:
    """The smallest and largest budget, in seconds."""

    floor: float = 10.0
    ceiling: float = 120.0


DEFAULT_HANDSHAKE = HandshakeLimits()


class HandshakeBudget:
    """One agent's budget: measured per attempt, grown by timeouts, reset by success."""

    def __init__(self, limits: HandshakeLimits = DEFAULT_HANDSHAKE) -> None:
        self.limits = limits
        self.timeouts_in_a_row = 0

    def for_attempt(self, banner_seconds: float | None) -> float:
        """The budget for an attempt whose banner arrived after `banner_seconds`."""
        measured = ROUND_TRIPS * (banner_seconds or 0.0)
        grown: float = max(self.limits.floor, measured) * 2.0**self.timeouts_in_a_row
        return min(self.limits.ceiling, grown)

    def timed_out(self) -> None:
        """An attempt ran out of budget: the next one gets twice as much (up to the ceiling)."""
        self.timeouts_in_a_row += 1

    def succeeded(self) -> None:
        """The tunnel came up: back to what the link measures."""
        self.timeouts_in_a_row = 0
