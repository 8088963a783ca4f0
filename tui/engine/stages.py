"""The stages a tunnel passes on its way up, in order; every failure belongs to one of them."""

from __future__ import annotations

from enum import IntEnum

from tui.engine.states import TunnelState


class Stage(IntEnum):
    """DNS → TCP → SSH → AUTH → FORWARD → READY; a later stage is a larger number."""

    DNS = 0
    TCP = 1
    SSH = 2
    AUTH = 3
    FORWARD = 4
    READY = 5

    @property
    def label(self) -> str:
        """What the stage track prints."""
        return self.name


_REACHED = {
    TunnelState.RESOLVING: Stage.DNS,
    TunnelState.CONNECTING: Stage.TCP,
    TunnelState.HANDSHAKE: Stage.SSH,
    TunnelState.AUTHENTICATING: Stage.AUTH,
    TunnelState.FORWARDING: Stage.FORWARD,
    TunnelState.ESTABLISHED: Stage.READY,
    TunnelState.SERVICE: Stage.READY,
    TunnelState.READY: Stage.READY,
}


def stage_reached(state: TunnelState) -> Stage | None:
    """The stage a tunnel in `state` is at, or None when it is not on the way up (or up)."""
    return _REACHED.get(state)
