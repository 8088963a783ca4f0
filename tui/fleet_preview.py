"""The fleet as the inventory lists it, before any engine runs: the console's first frame.

Read with the standard library only (no pydantic, asyncssh or dnspython), so the operator
sees the fleet at once; each row says "starting…" until the engine reports its real state.
A file that does not read here shows an empty fleet: the full load that follows names the
file, line and field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tui.engine.states import TunnelState
from widgets.fleet_table import FleetRow

STARTING = "starting…"


def preview_rows(appliances: Iterable[Mapping[str, Any]], *, default_port: int = 25,
                 domain: str = "", hosts: Mapping[str, str] | None = None) -> list[FleetRow]:
    """One "starting…" row per appliance entry of an inventory."""
    rows = []
    for entry in appliances:
        series = str(entry.get("series", ""))
        sshaccess = str(entry.get("mode", "tunnel")).lower() == "sshaccess"
        relay = (f"via {entry.get('gateway', '')}" if sshaccess
                 else (hosts or {}).get(series) or
                 (f"{series.lower()}.tunnels.{domain}" if domain else ""))
        rows.append(FleetRow(
            name=str(entry.get("name", "?")), model=str(entry.get("model") or series),
            serial=str(entry.get("serial", "")),
            mode="SSHACCESS" if sshaccess else "TUNNEL", state=TunnelState.DISABLED,
            attempt=0, port="22" if sshaccess else str(entry.get("port") or default_port),
            relay=relay, since="—", expires="—", engineer="", in_service=False,
            starting=True))
    return rows


def read_inventory_preview(path: Path) -> list[FleetRow]:
    """The rows of an inventory file, or none when it does not read (reported later)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        relay = data.get("relay", {})
        return preview_rows(data.get("appliance", []),
                            default_port=int(relay.get("default_port", 25)),
                            domain=str(relay.get("domain", "")),
                            hosts=relay.get("hosts") or {})
    except (OSError, ValueError, TypeError, AttributeError):
        return []
