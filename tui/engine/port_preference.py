"""Which relay port to try: one rule for the connectivity test's recommendation and for the
"try port N" of every failure sentence, so the dashboard and the test never disagree.

The rule: the port in use if it works (moving a working tunnel would end support sessions for
nothing), else the default, else the first that works in the order firewalls most often let
out: 443, 4766, 22, 80, 53, 25, then any other allowed port in its configured order.
"""

from __future__ import annotations

from collections.abc import Iterable

FIREWALL_FRIENDLY = (443, 4766, 22, 80, 53, 25)


def preference_order(ports: Iterable[int], *, default: int, in_use: int | None = None) -> list[int]:
    """`ports` in the order they should be tried: in use, default, then firewall-friendly."""
    allowed = list(dict.fromkeys(ports))
    head = [p for p in (in_use, default) if p is not None and p in allowed]
    friendly = [p for p in FIREWALL_FRIENDLY if p in allowed]
    return list(dict.fromkeys([*head, *friendly, *allowed]))


def next_port_to_try(failing: int | None, ports: Iterable[int] = FIREWALL_FRIENDLY) -> int:
    """The port a failure sentence suggests when `failing` does not work (no test known)."""
    for port in [p for p in FIREWALL_FRIENDLY if p in set(ports)] or list(ports):
        if port != failing:
            return port
    return FIREWALL_FRIENDLY[0]
