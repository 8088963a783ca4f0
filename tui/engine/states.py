"""Tunnel states and access modes."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """How an appliance is reached by support."""

    TUNNEL = "tunnel"
    SSHACCESS = "sshaccess"


class TunnelState(StrEnum):
    """Where an appliance's remote access stands; the UI and the log render these."""

    DISABLED = "DISABLED"
    RESOLVING = "RESOLVING"
    CONNECTING = "CONNECTING"
    HANDSHAKE = "HANDSHAKE"
    AUTHENTICATING = "AUTHENTICATING"
    FORWARDING = "FORWARDING"
    ESTABLISHED = "ESTABLISHED"
    SERVICE = "SERVICE"
    RETRYING = "RETRYING"
    HOST_KEY_UNKNOWN = "HOST_KEY_UNKNOWN"
    HOST_KEY_MISMATCH = "HOST_KEY_MISMATCH"
    SUPERSEDED = "SUPERSEDED"
    EXPIRED = "EXPIRED"
    DISABLING = "DISABLING"
    READY = "READY"
    WAITING_GATEWAY = "WAITING_GATEWAY"

    @property
    def is_up(self) -> bool:
        """Support can reach the appliance right now."""
        return self in _UP

    @property
    def is_connecting(self) -> bool:
        """A stage on the way to ESTABLISHED."""
        return self in _CONNECTING

    @property
    def needs_operator(self) -> bool:
        """The agent stopped and waits for a decision (never retried silently)."""
        return self in (TunnelState.HOST_KEY_UNKNOWN, TunnelState.HOST_KEY_MISMATCH)


_UP = frozenset({TunnelState.ESTABLISHED, TunnelState.SERVICE, TunnelState.READY})
_CONNECTING = frozenset(
    {
        TunnelState.RESOLVING,
        TunnelState.CONNECTING,
        TunnelState.HANDSHAKE,
        TunnelState.AUTHENTICATING,
        TunnelState.FORWARDING,
    }
)
