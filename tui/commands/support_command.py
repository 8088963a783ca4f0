"""`rac support connect SERIAL [--seed-file FILE | --seed -]`: the engineer's login to an
appliance (without either, it asks for the seed without echo)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from tui.commands.seed_input import read_seed
from tui.engine.errors import UsageError
from tui.engine.lab.lab import read_lab_info
from tui.engine.locations import default_lab_dir, default_state_dir
from tui.engine.support_client import (
    SupportRoute,
    open_support_connection,
    run_command,
    run_interactive,
)


def run_support_command(args: argparse.Namespace) -> int:
    """Work out the route (lab or explicit), then log in."""
    route = _route(args)
    seed = read_seed(
        args.seed, args.seed_file, prompt=f"Seed of {args.serial}: ", ask_when_missing=True
    )
    assert seed is not None
    return asyncio.run(_connect(route, args.serial, seed, args.command))


def _route(args: argparse.Namespace) -> SupportRoute:
    identity = args.identity or getpass.getuser()
    if args.lab:
        info = read_lab_info((args.state_dir or default_lab_dir()).expanduser().resolve())
        return SupportRoute(
            info.relay_host,
            info.relay_ports["22"],
            info.known_hosts,
            info.engineer_key,
            info.support_ca_key,
            args.identity or info.engineer,
            info.directory / "appliance_known_hosts",
        )
    missing = [
        flag
        for flag, value in (
            ("--relay", args.relay),
            ("--ca", args.ca),
            ("--key", args.key),
            ("--known-hosts", args.known_hosts),
        )
        if not value
    ]
    if missing:
        raise UsageError(
            f"Give --lab, or all of --relay, --ca, --key and --known-hosts "
            f"(missing: {', '.join(missing)})."
        )
    host, sep, port = args.relay.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise UsageError(f"--relay {args.relay!r}: write it as HOST:PORT, e.g. relay.example:22.")
    return SupportRoute(
        host.strip("[]"),
        int(port),
        args.known_hosts,
        args.key,
        args.ca,
        identity,
        default_state_dir() / "appliance_known_hosts",
    )


async def _connect(route: SupportRoute, serial: str, seed: str, command: str | None) -> int:
    relay, appliance, learned = await open_support_connection(route, serial, seed)
    if learned:
        print(
            f"rac: first login to {serial}: its host key {learned} is now recorded in "
            f"{route.appliance_known_hosts}",
            file=sys.stderr,
        )
    try:
        if command is not None:
            return await run_command(appliance, command, relay=relay)
        return await run_interactive(appliance, relay=relay)
    finally:
        appliance.close()
        relay.close()
