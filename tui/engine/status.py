"""A snapshot of one appliance's remote access, for `status`, the shell and the console."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tui.engine.durations import format_duration
from tui.engine.node_links import NodeLink
from tui.engine.reasons import Reason
from tui.engine.stages import Stage
from tui.engine.states import Mode, TunnelState


@dataclass(frozen=True, slots=True)
class SessionView:
    """One support session, as the operator sees it."""

    session_id: str
    engineer: str
    source: str
    started: float
    bytes_in: int
    bytes_out: int


@dataclass(frozen=True, slots=True)
class ApplianceStatus:
    """Everything the STATUS command and the console show about one appliance."""

    name: str
    serial: str
    series: str
    model: str
    mode: Mode
    enabled: bool
    state: TunnelState
    relay_host: str
    port: int
    selected_port: int
    since: float
    up_since: float | None = None
    reason: Reason | None = None
    detail: str = ""
    address: str = ""
    gateway: str = ""
    enabled_at: float | None = None
    expires_at: float | None = None
    attempt: int = 0
    retry_at: float | None = None
    fingerprint: str = ""
    sessions: tuple[SessionView, ...] = ()
    storage: str = ""
    """Why changes cannot be saved right now ('' when the state dir takes writes)."""
    links: tuple[NodeLink, ...] = ()
    """With `relay.connections` > 1: each tunnel's relay node and state."""
    failed_stage: Stage | None = None
    """Where the last attempt failed (the stage track's ✗), None while not failing."""

    def to_json(self) -> dict[str, object]:
        """The `--json` form (no seed: status output may be pasted anywhere)."""
        return {
            "name": self.name,
            "serial": self.serial,
            "series": self.series,
            "model": self.model,
            "mode": self.mode.value,
            "enabled": self.enabled,
            "state": self.state.value,
            "reason": self.reason.value if self.reason else "",
            "failed_stage": self.failed_stage.label if self.failed_stage is not None else "",
            "detail": self.detail,
            "relay_host": self.relay_host,
            "port": self.port or None,
            "address": self.address,
            "gateway": self.gateway,
            "enabled_at": self.enabled_at,
            "expires_at": self.expires_at,
            "since": self.since,
            "up_since": self.up_since,
            "attempt": self.attempt,
            "retry_at": self.retry_at,
            "fingerprint": self.fingerprint,
            "storage": self.storage,
            "links": [
                {"address": link.address, "state": link.state.value, "reason": link.reason}
                for link in self.links
            ],
            "sessions": [
                {
                    "id": s.session_id,
                    "engineer": s.engineer,
                    "source": s.source,
                    "started": s.started,
                    "bytes_in": s.bytes_in,
                    "bytes_out": s.bytes_out,
                }
                for s in self.sessions
            ],
        }


def status_lines(status: ApplianceStatus, now: float) -> list[str]:
    """What the appliance's `techsupport` STATUS prints."""
    logins = len(status.sessions)
    plural = "" if logins == 1 else "s"
    if not status.enabled:
        ended = " (expired)" if status.state is TunnelState.EXPIRED else ""
        lines = [f"Service Access currently DISABLED{ended}"]
    else:
        lines = [f"Service Access currently ENABLED ({logins} current service login{plural})"]
        if status.mode is Mode.TUNNEL:
            connected = "connected" if status.state.is_up else "not connected"
            lines.append(
                f"Mode TUNNEL: {connected} to {status.relay_host} on port "
                f"{status.port} (state {status.state.value})"
            )
        else:
            lines.append(
                f"Mode SSHACCESS: reached through {status.gateway} on port 22 "
                f"(state {status.state.value})"
            )
        if status.expires_at is not None:
            stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(status.expires_at))
            lines.append(f"Access ends {stamp} (in {format_duration(status.expires_at - now)})")
        if status.detail and not status.state.is_up:
            lines.append(status.detail)
    if status.storage:
        lines.append(f"State not saved: {status.storage}")
    lines.append(f"Serial number: {status.serial}")
    return lines
