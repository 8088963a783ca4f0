"""`rac status`: what each appliance's remote access is doing, from the saved and live state."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tui.engine.appliance_store import ApplianceRecord, ApplianceStore
from tui.engine.durations import format_duration
from tui.engine.inventory import ApplianceConfig, Inventory, load_inventory
from tui.engine.locations import default_lab_dir, default_state_dir
from tui.engine.secure_files import check_private
from tui.engine.states import Mode
from tui.engine.storage_health import check_state_dir

NOT_RUNNING = "STOPPED"


def run_status_command(args: argparse.Namespace) -> int:
    """Print one line (or one JSON object) per appliance."""
    inventory = load_inventory(args.inventory)
    state_dir = args.state_dir or default_state_dir()
    check_private(state_dir, "the state directory")
    rows = collect_status(inventory, state_dir)
    storage = next((row["storage"] for row in rows if row.get("storage")), "")
    if args.json:
        print(
            json.dumps(
                {
                    "appliances": [{k: v for k, v in r.items() if k != "known"} for r in rows],
                    "storage": storage,
                },
                indent=2,
            )
        )
        return 0
    if storage:
        print(f"storage: {storage}")
    now = time.time()
    for row in rows:
        expires, lifetime = row.get("expires_at"), row.get("lifetime")
        left = f" expires in {format_duration(expires - now)}" if expires else ""
        if left and lifetime:
            left += f" (lifetime {format_duration(lifetime)})"
        service = f" (SERVICE: {len(row['sessions'])})" if row.get("sessions") else ""
        where = f"via {row['gateway']}" if row["mode"] == "sshaccess" else f"port {row['port']}"
        print(
            f"{row['name']:<14} {row['serial']:<26} {row['mode'].upper():<9} "
            f"{row['state']:<16} {where}{left}{service}"
        )
        if row.get("detail"):
            print(f"{'':<14} {row['detail']}")
        if row.get("restrictions"):
            print(f"{'':<14} admits {row['admits']}")
    if args.state_dir is None and not any(r["known"] for r in rows):
        print(
            f"rac: nothing about these appliances in {state_dir} (the default state "
            "directory): if they run elsewhere, give its --state-dir (the console's lab "
            f"keeps its state in {default_lab_dir() / 'state'}).",
            file=sys.stderr,
        )
    return 0


def collect_status(inventory: Inventory, state_dir: Path) -> list[dict[str, Any]]:
    """Saved records merged with the live view of a running engine, if one is running."""
    live = _live_view(state_dir)
    store = ApplianceStore(state_dir, writable=False)  # read only: an agent may be writing
    # Seen from here too: a full disk also stops the engine from updating `live.json`.
    problem = check_state_dir(state_dir)
    rows = []
    for appliance in inventory.appliance:
        record = store.load(appliance.name)
        if appliance.name in live:
            row = {**live[appliance.name], "known": True}
            row["storage"] = row.get("storage") or problem
            rows.append({**row, **_access_rules(record if row.get("enabled") else None)})
            continue
        enabled = bool(record and record.enabled)
        state = "DISABLED"
        detail = ""
        if record and record.ended == "expired" and not enabled:
            state = "EXPIRED"
        if enabled:
            state = NOT_RUNNING
            detail = "Enabled, but no agent is running: start `rac agent` or the console."
        rows.append(
            {
                "name": appliance.name,
                "serial": appliance.serial,
                "series": appliance.series.value,
                "model": appliance.model,
                "mode": (record.mode if record else appliance.mode).value,
                "enabled": enabled,
                "state": state,
                "reason": "",
                "failed_stage": "",
                "detail": detail,
                "relay_host": inventory.relay_host(appliance),
                "port": _own_port(inventory, appliance, record),
                "gateway": (record.gateway if record else None) or appliance.gateway or "",
                "expires_at": record.expires_at if enabled and record else None,
                "sessions": [],
                "storage": problem,
                "known": record is not None,
                **_access_rules(record if enabled else None),
            }
        )
    return rows


def _access_rules(record: ApplianceRecord | None) -> dict[str, Any]:
    """Who may come in and for how long, for an enabled appliance (as the console says it)."""
    if record is None:
        return {"restrictions": None, "admits": "", "lifetime": None}
    rules = record.restrictions
    lifetime = (
        record.expires_at - record.enabled_at
        if record.expires_at is not None and record.enabled_at is not None
        else None
    )
    return {
        "restrictions": rules.to_json() if rules.any else None,
        "admits": rules.describe(),
        "lifetime": lifetime,
    }


def _own_port(
    inventory: Inventory, appliance: ApplianceConfig, record: ApplianceRecord | None
) -> int | None:
    """The relay port the appliance dials; None for SSHACCESS (its gateway dials)."""
    mode = record.mode if record else appliance.mode
    if mode is Mode.SSHACCESS:
        return None
    return record.port if record and record.port else inventory.port_for(appliance)


def _live_view(state_dir: Path) -> dict[str, dict[str, Any]]:
    path = state_dir / "live.json"
    try:
        snapshot = json.loads(path.read_text(encoding="utf-8"))
        pid = int(snapshot["pid"])
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, KeyError, TypeError, ProcessLookupError):
        return {}
    except PermissionError:
        pass
    appliances = snapshot.get("appliances", {})
    return appliances if isinstance(appliances, dict) else {}
