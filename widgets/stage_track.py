"""DNS → TCP → SSH → AUTH → FORWARD → READY, with the stage reached (or failed) highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.engine.stages import Stage, stage_reached
from tui.engine.states import TunnelState

_UP = (TunnelState.ESTABLISHED, TunnelState.SERVICE, TunnelState.READY)


class StageTrack(Static):
    """The connection stages as a track; colours come from component classes in the TCSS."""

    COMPONENT_CLASSES = {
        "stage-track--done",
        "stage-track--current",
        "stage-track--failed",
        "stage-track--pending",
    }

    def show(self, state: TunnelState, failed: Stage | None = None) -> None:
        """Highlight where `state` (and the `failed` stage, when failing) puts the tunnel."""
        text = Text()
        for stage, role in stage_roles(state, failed):
            shown = {
                "failed": f" ✗ {stage.label} ",
                "current": f" ▶ {stage.label} ",
                "done": f"✓ {stage.label}",
                "pending": f"· {stage.label}",
            }[role]
            text.append(shown, self.get_component_rich_style(f"stage-track--{role}"))
            if stage is not Stage.READY:
                text.append(" › ", self.get_component_rich_style("stage-track--pending"))
        self.update(text)


def stage_roles(state: TunnelState, failed_stage: Stage | None) -> list[tuple[Stage, str]]:
    """Each stage with how it is drawn: done, current, failed or pending. `failed_stage` is
    the engine's (a failure knows its stage: an `ssh-timeout` the one that stalled)."""
    reached = stage_reached(state)
    failed = failed_stage if reached is None else None
    roles: list[tuple[Stage, str]] = []
    for stage in Stage:
        if stage is failed:
            role = "failed"
        elif stage is reached and state not in _UP:
            role = "current"
        elif (reached is not None and stage <= reached) or (failed is not None and stage < failed):
            role = "done"
        else:
            role = "pending"
        roles.append((stage, role))
    return roles
