"""`rac agent`: run appliance agents headless; events as text or JSON lines."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tui.commands.event_loop import run_server_loop
from tui.commands.seed_input import read_seed
from tui.commands.signals import stop_on_signals
from tui.engine.appliance_store import ApplianceStore
from tui.engine.durations import parse_duration
from tui.engine.engine import Engine
from tui.engine.errors import UsageError
from tui.engine.events import (
    Event,
    EventSink,
    LogRecord,
    SeedIssued,
    ServiceEnded,
    ServiceStarted,
    StateChanged,
    StorageChanged,
    event_to_json,
)
from tui.engine.inventory import Inventory, load_inventory
from tui.engine.locations import default_state_dir
from tui.engine.seeds import validate_seed
from tui.engine.session_restrictions import SessionRestrictions, build_restrictions
from tui.engine.state_lock import lock_state_dir
from tui.engine.states import Mode
from tui.engine.storage_health import StorageError


def run_agent_command(args: argparse.Namespace) -> int:
    """Validate everything first (nothing starts on bad input), then run until a signal."""
    inventory = load_inventory(args.inventory)
    names = [n.strip() for n in (args.enable or "").split(",") if n.strip()]
    for name in names:
        inventory.get(name)
    if args.port is not None:
        inventory.check_port(args.port)
    seed = read_seed(
        args.seed,
        args.seed_file,
        prompt=f"Seed for {args.enable or 'them'}: ",
        ask_when_missing=False,
    )
    if seed is not None:
        validate_seed(seed)
    restrictions = build_restrictions(args.allow_engineer or (), args.not_before, args.not_after)
    lifetime = None
    if args.lifetime is not None:
        try:
            lifetime = parse_duration(args.lifetime)
        except ValueError as error:
            raise UsageError(f"--lifetime: {error}.") from None
    args.state_dir = args.state_dir or default_state_dir()
    if not names and not _any_saved_enabled(inventory, args.state_dir):
        # Before any engine exists: nothing is written (no live.json, no audit line).
        raise UsageError("Nothing is enabled: name appliances with --enable NAME[,NAME...].")
    lock = lock_state_dir(args.state_dir, "rac agent")
    try:
        return run_server_loop(_run(args, inventory, names, lifetime, seed, restrictions))
    finally:
        lock.release()


def _any_saved_enabled(inventory: Inventory, state_dir: Path) -> bool:
    """Some appliance was left enabled by an earlier run (the agent resumes it)."""
    if not state_dir.exists():
        return False
    store = ApplianceStore(state_dir, writable=False)
    return any(
        (record := store.load(a.name)) is not None and record.enabled for a in inventory.appliance
    )


async def _run(
    args: argparse.Namespace,
    inventory: Inventory,
    names: list[str],
    lifetime: float | None,
    seed: str | None,
    restrictions: SessionRestrictions,
) -> int:
    stop = stop_on_signals()
    engine = Engine(inventory, args.state_dir, accept_new_host_keys=args.accept_new_host_key)
    engine.subscribe(_printer(args.json))
    await engine.start()
    mode = Mode(args.mode) if args.mode else None
    for name in names:
        await engine.enable(
            name,
            mode=mode,
            seed=seed,
            port=args.port,
            gateway=args.gateway,
            lifetime=lifetime,
            restrictions=restrictions if restrictions.any else None,
        )
    if not any(status.enabled for status in engine.statuses()):
        await engine.shutdown()
        raise UsageError("Nothing is enabled: name appliances with --enable NAME[,NAME...].")
    try:
        await stop.wait()
        await engine.disable_all()
    finally:
        await engine.shutdown()
    if engine.storage.problem:
        raise StorageError(f"Stopped, but not everything could be saved: {engine.storage.problem}")
    return 0


def _printer(as_json: bool) -> EventSink:
    def show(event: Event) -> None:
        if as_json:
            if not isinstance(event, LogRecord):
                data = event_to_json(event)
                if isinstance(event, SeedIssued) and event.typed:
                    del data["seed"]  # the operator gave it; it stays out of every output
                print(json.dumps(data, default=str), flush=True)
            return
        line = describe_event(event)
        if line:
            print(line, flush=True)

    return show


def describe_event(event: Event) -> str:
    """One human line per event; the seed only in its own announcement."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
    if isinstance(event, StateChanged):
        where = f" port {event.port}" if event.port else ""
        why = f" — {event.detail}" if event.detail else ""
        return f"{stamp} {event.appliance} {event.state.value}{where}{why}"
    if isinstance(event, SeedIssued) and event.typed:
        return (
            f"{stamp} {event.appliance} seed set as given (not shown) — give it to "
            f"support with the serial {event.serial}"
        )
    if isinstance(event, SeedIssued):
        return (
            f"{stamp} {event.appliance} seed {event.seed} — give it to support with the "
            f"serial {event.serial}"
        )
    if isinstance(event, ServiceStarted):
        who = f" {event.engineer}" if event.engineer else ""
        return (
            f"{stamp} {event.appliance} (SERVICE){who} session {event.session_id} from "
            f"{event.source}"
        )
    if isinstance(event, ServiceEnded):
        return (
            f"{stamp} {event.appliance} (SERVICE) session {event.session_id} ended after "
            f"{event.duration:.0f} s ({event.bytes_in} B in, {event.bytes_out} B out)"
        )
    if isinstance(event, LogRecord):
        return f"{stamp} {event.appliance or 'rac'} {event.level.value}: {event.message}"
    if isinstance(event, StorageChanged):
        if event.problem:
            return f"{stamp} rac error: state not saved — {event.problem}"
        return f"{stamp} rac info: the state dir takes writes again; everything is saved"
    return ""
