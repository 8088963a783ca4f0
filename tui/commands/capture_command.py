"""`rac capture NAME`: tcpdump one connection attempt to the appliance's relay."""

from __future__ import annotations

import argparse
import asyncio
import json

from tui.engine.capture import capture_appliance
from tui.engine.errors import UsageError
from tui.engine.inventory import load_inventory
from tui.engine.locations import default_state_dir


def run_capture_command(args: argparse.Namespace) -> int:
    """Exit 0 when the attempt got an SSH banner back, 1 otherwise (the file is kept)."""
    if not 0 < args.seconds <= 120:
        raise UsageError(f"--seconds {args.seconds}: give a number above 0 and at most 120.")
    inventory = load_inventory(args.inventory)
    report = asyncio.run(
        capture_appliance(
            inventory,
            args.name,
            args.state_dir or default_state_dir(),
            port=args.port,
            seconds=args.seconds,
            out=args.out,
        )
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.sentence)
    return 0 if report.summary.banner else 1
