"""How the relay tells an agent that it refused or dropped one of its routes.

SSH has no reply text for a refused `tcpip-forward` and no message for a forward the server
ends, so the relay sends an SSH debug message (SSH_MSG_DEBUG, as OpenSSH's sshd does to explain
refused options) just before the refusal, or when it drops a route: `rac route-refused SERIAL:
why`. The agent reads it to put the reason in words; an old agent simply ignores it.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "rac route-"
REFUSED = "refused"
DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class RouteNotice:
    """The relay refused (`refused`) or stopped (`dropped`) routing `serial`, and why."""

    kind: str
    serial: str
    why: str

    def message(self) -> str:
        """The debug message text."""
        return f"{PREFIX}{self.kind} {self.serial}: {self.why}"


def parse_notice(message: str) -> RouteNotice | None:
    """The notice in a debug message, or None for any other debug message."""
    if not message.startswith(PREFIX):
        return None
    kind, _, rest = message[len(PREFIX) :].partition(" ")
    serial, _, why = rest.partition(": ")
    if kind not in (REFUSED, DROPPED) or not serial:
        return None
    return RouteNotice(kind, serial.lower(), why.strip()[:300])
