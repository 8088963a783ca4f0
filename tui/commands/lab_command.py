"""`rac lab`: run the built-in lab until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import json
import sys

from tui.commands.event_loop import run_server_loop
from tui.commands.signals import stop_on_signals
from tui.engine.lab.cluster_lab import RESTART_DELAY, ClusterLab
from tui.engine.lab.lab import Lab, LabInfo, lab_dir_option
from tui.engine.locations import default_lab_dir
from tui.engine.state_lock import lock_state_dir


def run_lab_command(args: argparse.Namespace) -> int:
    """Start the lab, say where everything is, run until told to stop; exit 0."""
    args.state_dir = (args.state_dir or default_lab_dir()).expanduser().resolve()
    lock = lock_state_dir(args.state_dir, "rac lab", role="the lab directory")
    try:
        return run_server_loop(_run(args))
    finally:
        lock.release()


async def _run(args: argparse.Namespace) -> int:
    stop = stop_on_signals()
    relays = getattr(args, "relays", 1) or 1
    lab = (
        ClusterLab(args.state_dir, relays=relays, restart_delay=RESTART_DELAY, log=_log)
        if relays > 1
        else Lab(args.state_dir)
    )
    info = await lab.start()
    try:
        if args.json:
            print(json.dumps(info.to_json()), flush=True)
        else:
            print(describe_lab(info), flush=True)
        await stop.wait()
    finally:
        await lab.close()
    return 0


def _log(line: str) -> None:
    """What the lab does on its own (a relay node restarted) goes to stderr: stdout stays
    the one description (or lab.json with --json)."""
    print(f"rac lab: {line}", file=sys.stderr, flush=True)


def describe_lab(info: LabInfo) -> str:
    """A short human summary of a running lab, with the next commands to type."""
    ports = ", ".join(f"{nominal}→{real}" for nominal, real in info.relay_ports.items())
    return "\n".join(
        [
            f"rac lab running in {info.directory} (pid {info.pid})",
            f"  relay    {info.relay_host} ports {ports}",
            f"           host key {info.relay_fingerprint}",
            *(
                f"  node     {node['id']} pid {node['pid']} on {node['address']}, "
                f"peer hop {node['peer']}"
                for node in info.nodes
            ),
            *(
                [f"           a killed node restarts after {RESTART_DELAY:g} s; lab.json follows"]
                if info.nodes
                else []
            ),
            *([f"  redis    {info.redis} (route directory)"] if info.redis else []),
            f"  dns      {info.dns} serving *.{info.domain}",
            f"  inventory {info.inventory}",
            "Next, in another terminal:",
            f"  rac agent --inventory {info.inventory} --state-dir {info.state_dir} "
            "--enable mail-gw-1",
            f"  rac support connect SERIAL --lab{lab_dir_option(info)}    (asks for the seed; "
            "or --seed-file FILE)",
            "Stop with Ctrl-C.",
        ]
    )
