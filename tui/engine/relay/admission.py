"""Who may start an SSH login at the relay: OpenSSH's MaxStartups, PerSourceMaxStartups and
PerSourcePenalties, for a relay that faces the whole internet.

A source is an IPv4 address or an IPv6 /64. Unauthenticated connections are capped in total
and per source; a source whose connections fail (rejected keys, no login attempt, login grace
exceeded) collects a penalty that grows with every failure, and once it passes a minimum the
source's new connections are closed before the banner until it runs out. Connections that
authenticate leave the unauthenticated budget at once, and a source with enrolled agents
online is never locked out by penalties (a fleet behind one NAT address must not pay for one
misconfigured appliance), only held to the per-source cap.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from tui.engine.relay.relay_config import PreauthLimits

MAX_TRACKED_SOURCES = 65536


class Outcome(StrEnum):
    """How a connection that never authenticated ended (audit counters use these names)."""

    REFUSED_FULL = "refused_full"
    REFUSED_SOURCE = "refused_source_full"
    REFUSED_PENALTY = "refused_penalty"
    NO_AUTH = "no_auth"
    AUTH_FAILED = "auth_failed"
    TOO_MANY_TRIES = "too_many_tries"
    GRACE_EXCEEDED = "grace_exceeded"
    REACHABILITY_CHECK = "reachability_check"  # an agent checking the relay is back: no penalty


def source_of(address: str) -> str:
    """The address a limit applies to: IPv4 as is, IPv6 by its /64."""
    if ":" not in address:
        return address  # IPv4 as the kernel writes it: already canonical, nothing to parse
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)


@dataclass(slots=True)
class _Source:
    unauthenticated: int = 0
    agents_online: int = 0
    penalty_until: float = 0.0
    enforced: bool = False

    def idle(self, now: float) -> bool:
        return not self.unauthenticated and not self.agents_online and self.penalty_until <= now


class Admission:
    """Counts unauthenticated connections and penalties per source; decides at accept time."""

    def __init__(
        self, limits: PreauthLimits, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sources: dict[str, _Source] = {}
        self._exempt = [ipaddress.ip_network(net, strict=False) for net in limits.penalty_exempt]
        self.unauthenticated = 0

    def admit(self, source: str) -> Outcome | None:
        """None to let a new connection from `source` start its login, else why not."""
        now = self._clock()
        state = self._sources.get(source)
        if state is not None and self._locked_out(source, state, now):
            return Outcome.REFUSED_PENALTY
        if self.unauthenticated >= self.limits.max_startups:
            return Outcome.REFUSED_FULL
        if state is None:
            if len(self._sources) >= MAX_TRACKED_SOURCES:
                self._forget_idle(now)
            state = self._sources[source] = _Source()
        if state.unauthenticated >= self.limits.per_source_max_startups:
            return Outcome.REFUSED_SOURCE
        state.unauthenticated += 1
        self.unauthenticated += 1
        return None

    def authenticated(self, source: str, *, agent: bool) -> None:
        """A connection admitted from `source` logged in: it leaves the pre-auth budget."""
        state = self._sources.get(source)
        if state is None:
            return
        self._release(state)
        if agent:
            state.agents_online += 1

    def agent_closed(self, source: str) -> None:
        """An authenticated agent from `source` went away."""
        state = self._sources.get(source)
        if state is not None and state.agents_online:
            state.agents_online -= 1
            self._drop_if_idle(source, state)

    def failed(self, source: str, outcome: Outcome) -> None:
        """An admitted connection closed without logging in: release it, add the penalty."""
        state = self._sources.get(source)
        if state is None:
            return
        self._release(state)
        penalty = self._penalty_for(outcome)
        crowded = len(self._sources) > MAX_TRACKED_SOURCES  # overflow: permissive, as OpenSSH
        if penalty > 0 and not crowded and not self._exempted(source):
            now = self._clock()
            state.penalty_until = min(
                max(state.penalty_until, now) + penalty, now + self.limits.penalty_max
            )
            if state.penalty_until - now >= self.limits.penalty_min:
                state.enforced = True
        self._drop_if_idle(source, state)

    def penalty_left(self, source: str) -> float:
        """Seconds of penalty `source` has left (0 when none is enforced)."""
        state = self._sources.get(source)
        if state is None or not state.enforced:
            return 0.0
        return max(0.0, state.penalty_until - self._clock())

    def _penalty_for(self, outcome: Outcome) -> float:
        limits = self.limits
        return {
            Outcome.NO_AUTH: limits.penalty_noauth,
            Outcome.AUTH_FAILED: limits.penalty_authfail,
            Outcome.TOO_MANY_TRIES: limits.penalty_authfail,
            Outcome.GRACE_EXCEEDED: limits.penalty_grace_exceeded,
        }.get(outcome, 0.0)

    def _locked_out(self, source: str, state: _Source, now: float) -> bool:
        if not state.enforced:
            return False
        if state.penalty_until <= now:
            state.enforced = False
            return False
        return not state.agents_online

    def _exempted(self, source: str) -> bool:
        if not self._exempt:
            return False
        try:
            address = ipaddress.ip_network(source, strict=False)
        except ValueError:
            return False
        # A source is a whole IPv6 /64: an exempt network inside it exempts the block.
        return any(address.version == net.version and address.overlaps(net) for net in self._exempt)

    def _release(self, state: _Source) -> None:
        if state.unauthenticated:
            state.unauthenticated -= 1
            self.unauthenticated -= 1

    def _drop_if_idle(self, source: str, state: _Source) -> None:
        if state.idle(self._clock()):
            self._sources.pop(source, None)

    def _forget_idle(self, now: float) -> None:
        for source in [s for s, state in self._sources.items() if state.idle(now)]:
            del self._sources[source]
