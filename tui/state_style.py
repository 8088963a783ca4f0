"""How a tunnel state reads (its label) and which colour family it belongs to; the colours
themselves live in the TCSS."""

from __future__ import annotations

from enum import StrEnum

from tui.engine.states import TunnelState


class Tone(StrEnum):
    """A colour family; each maps to a theme variable in rac.tcss."""

    UP = "up"
    SERVICE = "service"
    CONNECTING = "connecting"
    RETRYING = "retrying"
    FAILED = "failed"
    DOWN = "down"


_TONES = {
    TunnelState.ESTABLISHED: Tone.UP,
    TunnelState.READY: Tone.UP,
    TunnelState.SERVICE: Tone.SERVICE,
    TunnelState.RESOLVING: Tone.CONNECTING,
    TunnelState.CONNECTING: Tone.CONNECTING,
    TunnelState.HANDSHAKE: Tone.CONNECTING,
    TunnelState.AUTHENTICATING: Tone.CONNECTING,
    TunnelState.FORWARDING: Tone.CONNECTING,
    TunnelState.DISABLING: Tone.CONNECTING,
    TunnelState.RETRYING: Tone.RETRYING,
    TunnelState.WAITING_GATEWAY: Tone.RETRYING,
    TunnelState.HOST_KEY_UNKNOWN: Tone.FAILED,
    TunnelState.HOST_KEY_MISMATCH: Tone.FAILED,
    TunnelState.SUPERSEDED: Tone.FAILED,
    TunnelState.EXPIRED: Tone.DOWN,
    TunnelState.DISABLED: Tone.DOWN,
}


def tone_of(state: TunnelState) -> Tone:
    """The colour family of `state`."""
    return _TONES[state]


def state_label(state: TunnelState, attempt: int = 0) -> str:
    """What the state column says: `RETRYING #3`, `WAITING GATEWAY`, …"""
    label = state.value.replace("_", " ")
    if state is TunnelState.RETRYING and attempt:
        label += f" #{attempt}"
    return label
