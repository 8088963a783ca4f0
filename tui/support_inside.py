"""Who is inside an appliance's tunnel now: its own (SERVICE) sessions and those of the
SSHACCESS appliances reached through it. Every verb that moves or stops a tunnel asks first
when this is not empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.fleet_model import FleetModel


def support_inside(model: FleetModel, name: str) -> list[str]:
    """One entry per open session riding `name`'s tunnel: "alice on mail-gw-1"."""
    inside: list[str] = []
    for view in model.views.values():
        status = view.status
        if status.name != name and status.gateway != name:
            continue
        if status.name != name and not status.enabled:
            continue
        for session in status.sessions:
            who = session.engineer or "support"
            inside.append(f"{who} on {status.name}")
    return inside


def inside_sentence(inside: list[str]) -> str:
    """ "Support is inside (alice on mail-gw-1): their sessions end." """
    sessions = "session ends" if len(inside) == 1 else "sessions end"
    return f"Support is inside ({', '.join(inside)}): the {sessions} at once."
