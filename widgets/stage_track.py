"""DNS → TCP → SSH → AUTH → FORWARD → READY, with the stage reached (or failed) highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.engine.states import TunnelState

STAGES: tuple[tuple[str, TunnelState], ...] = (
    ("DNS", TunnelState.RESOLVING),
    ("TCP", TunnelState.CONNECTING),
    ("SSH", TunnelState.HANDSHAKE),
    ("AUTH", TunnelState.AUTHENTICATING),
    ("FORWARD", TunnelState.FORWARDING),
    ("READY", TunnelState.ESTABLISHED),
)
_REACHED = {state: index for index, (_, state) in enumerate(STAGES)}
_REACHED[TunnelState.SERVICE] = len(STAGES) - 1
_REACHED[TunnelState.READY] = len(STAGES) - 1


def failed_stage(reason: str) -> int:
    """Which stage a failure reason belongs to."""
    if reason.startswith("dns-"):
        return 0
    if reason.startswith("tcp-") or reason == "reset":
        return 1
    if reason.startswith(("not-ssh", "ssh-", "host-key")):
        return 2
    if reason.startswith("auth"):
        return 3
    if reason.startswith("forward"):
        return 4
    return 5


class StageTrack(Static):
    """The connection stages as a track; colours come from component classes in the TCSS."""

    COMPONENT_CLASSES = {"stage-track--done", "stage-track--current", "stage-track--failed",
                         "stage-track--pending"}

    def show(self, state: TunnelState, reason: str = "") -> None:
        """Highlight where `state` (and `reason`, when failing) puts the tunnel."""
        current, failed = -1, -1
        if state in _REACHED:
            current = _REACHED[state]
        elif reason:
            failed = failed_stage(reason)
        text = Text()
        for index, (label, _) in enumerate(STAGES):
            if index == failed:
                role, shown = "failed", f" ✗ {label} "
            elif index == current and state not in (TunnelState.ESTABLISHED,
                                                    TunnelState.SERVICE, TunnelState.READY):
                role, shown = "current", f" ▶ {label} "
            elif index <= current or (failed >= 0 and index < failed):
                role, shown = "done", f"✓ {label}"
            else:
                role, shown = "pending", f"· {label}"
            text.append(shown, self.get_component_rich_style(f"stage-track--{role}"))
            if index < len(STAGES) - 1:
                text.append(" › ", self.get_component_rich_style("stage-track--pending"))
        self.update(text)
