"""The Access panel: mode, enabled since, the lifetime countdown, the gateway."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.engine.states import Mode, TunnelState
from tui.engine.status import ApplianceStatus
from tui.formatting import countdown, date_time


class AccessPanel(Static):
    """How long support may still come in."""

    def show(self, status: ApplianceStatus, now: float) -> None:
        """Render the access facts."""
        text = Text()
        text.append("mode     ", "dim")
        text.append(status.mode.value.upper(), "bold")
        if status.mode is Mode.SSHACCESS:
            text.append(f" via {status.gateway or '—'}")
        text.append("\nenabled  ", "dim")
        text.append(date_time(status.enabled_at) if status.enabled else "no")
        text.append("\nexpires  ", "dim")
        if status.enabled and status.expires_at is not None:
            text.append(f"in {countdown(status.expires_at, now)}", "bold")
            text.append(f"  ({date_time(status.expires_at)})")
        elif status.state is TunnelState.EXPIRED:
            text.append("expired: no new support session", "bold")
        else:
            text.append("—")
        self.update(text)
