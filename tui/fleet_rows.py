"""An appliance's fleet-table row (what each column says), and what a filter matches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui.engine.node_links import nodes_label
from tui.engine.service_port import SERVICE_PORT
from tui.engine.states import Mode, TunnelState
from tui.formatting import clock_time, countdown
from tui.state_style import state_label

if TYPE_CHECKING:
    from tui.fleet_model import ApplianceView  # the engine's events: not on the first frame


@dataclass(frozen=True, slots=True)
class FleetRow:
    """What one appliance's row says."""

    name: str
    model: str
    serial: str
    mode: str
    state: TunnelState
    attempt: int
    port: str
    relay: str
    since: str
    expires: str
    engineer: str
    in_service: bool
    since_at: float | None = None
    expires_at: float | None = None
    starting: bool = False

    @property
    def enabled(self) -> bool:
        """Remote access is on (or being turned off)."""
        return self.state not in (TunnelState.DISABLED, TunnelState.EXPIRED)

    @property
    def state_text(self) -> str:
        """The state column ("starting…" before the engine reported)."""
        if self.starting:
            return "starting…"
        return state_label(self.state, self.attempt)

    @property
    def service_text(self) -> str:
        """The (SERVICE) badge column."""
        if not self.in_service:
            return ""
        return f"(SERVICE) {self.engineer}" if self.engineer else "(SERVICE)"


def fleet_row(view: ApplianceView, now: float) -> FleetRow:
    """The row for one appliance as of `now`."""
    status = view.status
    engineers = [s.engineer for s in status.sessions if s.engineer]
    in_service = status.state is TunnelState.SERVICE or bool(status.sessions)
    model = status.model or status.series
    return FleetRow(
        name=status.name,
        model=model,
        serial=status.serial,
        mode=status.mode.value.upper(),
        state=status.state,
        attempt=status.attempt,
        port=(
            str(SERVICE_PORT)
            if status.mode is Mode.SSHACCESS
            else str(status.port)
            if status.enabled
            else str(status.selected_port)
        ),
        relay=nodes_label(status.links, status.relay_host)
        if status.mode is Mode.TUNNEL
        else f"via {status.gateway}",
        since=clock_time(status.up_since or status.since) if status.enabled else "—",
        expires=countdown(status.expires_at, now) if status.enabled else "—",
        engineer=", ".join(engineers),
        in_service=in_service,
        since_at=(status.up_since or status.since) if status.enabled else None,
        expires_at=status.expires_at if status.enabled else None,
    )


def preview_rows(
    appliances: Iterable[Mapping[str, Any]],
    *,
    default_port: int = 25,
    domain: str = "",
    hosts: Mapping[str, str] | None = None,
) -> list[FleetRow]:
    """The console's first frame, before any engine runs: one "starting…" row per appliance
    entry of an inventory (plain TOML values)."""
    rows = []
    for entry in appliances:
        series = str(entry.get("series", ""))
        sshaccess = str(entry.get("mode", "tunnel")).lower() == "sshaccess"
        relay = (
            f"via {entry.get('gateway', '')}"
            if sshaccess
            else (hosts or {}).get(series)
            or (f"{series.lower()}.tunnels.{domain}" if domain else "")
        )
        rows.append(
            FleetRow(
                name=str(entry.get("name", "?")),
                model=str(entry.get("model") or series),
                serial=str(entry.get("serial", "")),
                mode="SSHACCESS" if sshaccess else "TUNNEL",
                state=TunnelState.DISABLED,
                attempt=0,
                port="22" if sshaccess else str(entry.get("port") or default_port),
                relay=relay,
                since="—",
                expires="—",
                engineer="",
                in_service=False,
                starting=True,
            )
        )
    return rows


def matches(row: FleetRow, query: str) -> bool:
    """Case-insensitive substring match over the columns an operator searches by."""
    if not query:
        return True
    needle = query.lower()
    haystack = " ".join(
        (
            row.name,
            row.model,
            row.serial,
            row.mode,
            row.state.value,
            row.relay,
            row.engineer,
            "service" if row.in_service else "",
        )
    )
    return needle in haystack.lower()
