"""`rac relay --config FILE`: run the support relay until SIGINT/SIGTERM; `rac relay enrol /
revoke / list` manage who may connect (the agents directory of the same config)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import asyncssh

from tui.commands.event_loop import run_server_loop
from tui.commands.signals import stop_on_signals
from tui.engine.bounded_files import UnreadableFile, read_bounded
from tui.engine.errors import RacError, UsageError
from tui.engine.relay.cluster_node import describe_cluster
from tui.engine.relay.enrolments import EnrolmentStore
from tui.engine.relay.relay_config import RelayConfig, load_relay_config
from tui.engine.relay.relay_server import Relay
from tui.engine.relay.startup_checks import check_relay_start


def run_relay_command(args: argparse.Namespace) -> int:
    """Check the config (exit 2 on error), then serve or run the admin action."""
    if args.config is None:
        raise UsageError("rac relay needs --config FILE (the relay's TOML config).")
    config = load_relay_config(args.config)
    action = getattr(args, "relay_action", None)
    if action is None:
        check_relay_start(config)  # exit 2 before the loop starts, nothing created yet
        return run_server_loop(_serve(config))
    store = EnrolmentStore(config.path(config.agents_dir))
    if action == "enrol":
        for change in store.enrol(args.serial, _public_key(args.keyfile), args.gateway_for):
            print(change)
        return 0
    if action == "revoke":
        for change in store.revoke(args.serial):
            print(change)
        return 0
    return _list(store, as_json=args.json)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _serve(config: RelayConfig) -> int:
    stop = stop_on_signals()
    relay = Relay(config, log=_log)
    try:
        ports = await relay.start()
    except OSError as error:
        await relay.close()
        raise RacError(
            f"The relay cannot listen on {config.listen} "
            f"ports {list(config.ports)}: {error.strerror or error}."
        ) from None
    print(
        f"rac relay listening on {config.listen} ports {', '.join(map(str, ports))}; "
        f"host key {relay.host_key.get_fingerprint('sha256')}",
        flush=True,
    )
    if relay.cluster is not None:
        print(describe_cluster(relay.cluster), flush=True)
    try:
        await stop.wait()
    finally:
        await relay.close()
    return 0


def _public_key(path: str) -> asyncssh.SSHKey:
    try:
        data = (
            sys.stdin.buffer.read(64 * 1024)
            if path == "-"
            else read_bounded(Path(path).expanduser(), 64 * 1024)
        )
    except UnreadableFile as error:
        raise UsageError(f"KEYFILE {path}: cannot be used ({error}).") from None
    text = data.decode("utf-8", errors="replace").strip()
    if "PRIVATE KEY" in text:
        raise UsageError(
            f"KEYFILE {path} holds a private key: give the appliance's public key (the .pub file)."
        )
    try:
        return asyncssh.import_public_key(text)
    except (asyncssh.KeyImportError, ValueError):
        raise UsageError(
            f"KEYFILE {path} is not an OpenSSH public key (one line: ssh-ed25519 AAAA... comment)."
        ) from None


def _list(store: EnrolmentStore, *, as_json: bool) -> int:
    enrolments = store.load()
    rows: list[dict[str, object]] = []
    for serial in sorted(set(enrolments.agents) | set(enrolments.gateways)):
        agent = enrolments.agent(serial)
        rows.append(
            {
                "serial": serial,
                "fingerprint": agent.key.get_fingerprint("sha256")
                if agent is not None and agent.key is not None
                else None,
                "gateway": enrolments.gateway_of(serial),
                "gateway_for": enrolments.children_of(serial),
                "problem": agent.problem if agent is not None else "",
            }
        )
    if as_json:
        print(json.dumps({"enrolments": rows, "problems": list(enrolments.problems)}, indent=2))
        return 0
    if not rows:
        print(f"nothing enrolled in {store.directory}")
    for serial in sorted(set(enrolments.agents) | set(enrolments.gateways)):
        agent, gateway = enrolments.agent(serial), enrolments.gateway_of(serial)
        if gateway is not None:
            print(f"{serial:<28} SSHACCESS through {gateway}")
            continue
        if agent is None or agent.key is None:
            shown = "UNUSABLE: " + (agent.problem if agent is not None else "no key")
        else:
            shown = agent.key.get_fingerprint("sha256")
        children = ", ".join(enrolments.children_of(serial))
        print(f"{serial:<28} {shown}" + (f"  gateway for {children}" if children else ""))
    for problem in enrolments.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0
