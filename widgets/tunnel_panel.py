"""The Tunnel panel: stage track, relay and address, uptime, retries, and the reason in words."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tui.engine.states import Mode, TunnelState
from tui.engine.status import ApplianceStatus
from tui.formatting import clock_time, elapsed
from tui.state_style import state_label, tone_of
from widgets.stage_track import StageTrack


class TunnelPanel(Vertical):
    """Where the tunnel stands, in the operator's words."""

    def compose(self) -> ComposeResult:
        yield Static(id="tunnel-state")
        yield StageTrack(id="stage-track")
        yield Static(id="tunnel-facts")
        yield Static(id="tunnel-reason")

    def show(self, status: ApplianceStatus, now: float) -> None:
        """Render `status` as of `now`."""
        state = status.state
        headline = self.query_one("#tunnel-state", Static)
        headline.update(Text(state_label(state, status.attempt), style="bold"))
        headline.set_classes(f"tone-{tone_of(state).value}")
        track = self.query_one(StageTrack)
        track.display = status.mode is Mode.TUNNEL and status.enabled
        track.show(state, status.failed_stage)
        self.query_one("#tunnel-facts", Static).update(_facts(status, now))
        reason = self.query_one("#tunnel-reason", Static)
        reason.update(_reason(status, now))
        reason.display = (
            bool(status.detail) or state is TunnelState.RETRYING or bool(status.storage)
        )


def _facts(status: ApplianceStatus, now: float) -> Text:
    lines = Text()
    if status.mode is Mode.SSHACCESS:
        lines.append(f"via gateway {status.gateway or '—'} on port 22 (no tunnel of its own)\n")
    else:
        address = f" → {status.address}" if status.address else ""
        lines.append(f"relay   {status.relay_host}:{status.port}{address}\n")
        for number, link in enumerate(status.links, 1):
            why = f" ({link.reason})" if link.reason and not link.state.is_up else ""
            lines.append(f"node {number}  {link.address or '—'}  {link.state.value}{why}\n")
    if not status.enabled:
        lines.append("remote access is off")
        return lines
    if status.state.is_up and status.up_since is not None:
        lines.append(
            f"up      since {clock_time(status.up_since)} ({elapsed(status.up_since, now)})\n"
        )
    else:
        lines.append(f"state   since {clock_time(status.since)}\n")
    lines.append(f"retries {status.attempt}")
    return lines


def _reason(status: ApplianceStatus, now: float) -> Text:
    text = Text()
    if status.reason:
        text.append(f"{status.reason}: ", style="bold")
    text.append(status.detail)
    if status.state is TunnelState.RETRYING and status.retry_at is not None:
        wait = max(0.0, status.retry_at - now)
        text.append(f"\nnext try in {wait:.1f} s (attempt {status.attempt + 1})", style="bold")
    if status.fingerprint:
        text.append(f"\nrelay key {status.fingerprint} — press a to pin it", style="bold")
    if status.storage:
        text.append(
            f"{chr(10) if text.plain else ''}state not saved: {status.storage}", style="bold"
        )
    return text
