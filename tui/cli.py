"""`rac` command line: parse, dispatch, and turn every error into one sentence."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tui import __version__
from tui.cli_help import describe
from tui.engine.errors import RacError

Handler = Callable[[argparse.Namespace], int]


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _inventory_option(parser: argparse.ArgumentParser, *, shared: bool = True) -> None:
    """`--inventory FILE`, read as `args.inventory` by every command."""
    parser.add_argument(
        "--inventory",
        type=_path,
        metavar="FILE",
        default=argparse.SUPPRESS if shared else None,
        help="fleet inventory (TOML; default: inventory.toml in the user config dir)"
        if shared
        else "fleet inventory (TOML); without it the console runs on the built-in lab",
    )


def _state_dir_option(parser: argparse.ArgumentParser, what: str, *, shared: bool = True) -> None:
    """`--state-dir DIR`, read as `args.state_dir` by every command."""
    parser.add_argument(
        "--state-dir",
        type=_path,
        metavar="DIR",
        default=argparse.SUPPRESS if shared else None,
        help=what,
    )


def _json_option(parser: argparse.ArgumentParser, what: str = "machine-readable output") -> None:
    parser.add_argument("--json", action="store_true", help=what)


def _relay_count(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 9:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of relay nodes from 1 to 9")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """Every command and option of `rac`.

    The options several commands share (`--inventory`, `--state-dir`) are declared once on
    the top-level parser and again, with `default=SUPPRESS`, on each subcommand: given before
    or after the command, they land in the same `args` name."""
    parser = argparse.ArgumentParser(
        prog="rac",
        description="Remote Access Console: support tunnels for appliances. "
        "With no command, opens the console (on the built-in lab unless --inventory is given).",
    )
    parser.add_argument("--version", action="version", version=f"rac {__version__}")
    _inventory_option(parser, shared=False)
    _state_dir_option(parser, "where keys, seeds and audit logs live", shared=False)
    parser.add_argument(
        "--theme", metavar="NAME", help="console theme: rac-dark, rac-light, rac-contrast"
    )
    commands = parser.add_subparsers(dest="verb", metavar="COMMAND")

    lab = commands.add_parser("lab", help="run the built-in lab (relay, DNS, CA) on loopback")
    _state_dir_option(lab, "lab directory")
    _json_option(lab, "print lab.json and nothing else")
    lab.add_argument(
        "--relays",
        type=_relay_count,
        default=1,
        help="relay nodes (2-9 start Redis and one process per node)",
    )

    relay = commands.add_parser(
        "relay", help="run the support relay, or manage who may connect to it (enrol, revoke, list)"
    )
    relay.add_argument("--config", type=_path, metavar="FILE", help="relay config (TOML); required")
    relay_actions = relay.add_subparsers(dest="relay_action", metavar="ACTION")
    enrol = relay_actions.add_parser(
        "enrol",
        help="enrol an appliance's public key; bind SSHACCESS serials to it as their gateway",
    )
    enrol.add_argument("serial", metavar="SERIAL")
    enrol.add_argument(
        "keyfile",
        metavar="KEYFILE",
        help="the appliance's OpenSSH public key (.pub), or - for stdin",
    )
    enrol.add_argument(
        "--gateway-for",
        nargs="+",
        default=[],
        metavar="SERIAL",
        help="SSHACCESS serials this appliance may announce",
    )
    revoke = relay_actions.add_parser(
        "revoke",
        help="remove an appliance's enrolment and gateway bindings (a connected agent is cut)",
    )
    revoke.add_argument("serial", metavar="SERIAL")
    listing = relay_actions.add_parser("list", help="enrolled appliances and bindings")
    _json_option(listing)
    for action in (enrol, revoke, listing):
        action.add_argument(
            "--config",
            type=_path,
            metavar="FILE",
            default=argparse.SUPPRESS,
            help="relay config (TOML)",
        )

    agent = commands.add_parser("agent", help="run appliance agents without a screen")
    _inventory_option(agent)
    agent.add_argument("--enable", metavar="NAME[,NAME...]", help="appliances to enable")
    agent.add_argument(
        "--port", type=int, metavar="PORT", help="relay port for the enabled appliances"
    )
    agent.add_argument("--mode", choices=["tunnel", "sshaccess"], help="access mode")
    agent.add_argument("--gateway", metavar="NAME", help="gateway appliance (SSHACCESS)")
    seed = agent.add_mutually_exclusive_group()
    seed.add_argument(
        "--seed",
        metavar="SEED|-",
        help="the seed to use (6-128 characters, "
        "hard to guess); '-' reads it from stdin, or asks without echo on a "
        "terminal (a seed on the command line is visible to local users)",
    )
    seed.add_argument(
        "--seed-file",
        type=_path,
        metavar="FILE",
        help="read the seed from the first line of FILE (mode 0600)",
    )
    seed.add_argument(
        "--generate-seed", action="store_true", help="generate a random seed (the default)"
    )
    agent.add_argument(
        "--lifetime", metavar="DURATION", help="access lifetime, e.g. 7d, 72h (default: inventory)"
    )
    agent.add_argument(
        "--allow-engineer",
        nargs="+",
        metavar="NAME",
        help="admit only these engineers (their certificate key ID)",
    )
    agent.add_argument(
        "--not-before", metavar="'YYYY-MM-DD HH:MM'", help="admit support only from this UTC time"
    )
    agent.add_argument(
        "--not-after", metavar="'YYYY-MM-DD HH:MM'", help="admit support only until this UTC time"
    )
    agent.add_argument(
        "--accept-new-host-key",
        action="store_true",
        help="pin the relay's host key on first use (never on a mismatch)",
    )
    _state_dir_option(agent, "where keys, seeds and audit logs live")
    _json_option(agent, "one JSON object per event")

    sessions = commands.add_parser(
        "sessions",
        help="past support sessions and their recordings; replay one",
        description="rac sessions [NAME] lists the support sessions (from the audit log and "
        "the recordings); rac sessions play ID replays one in this terminal.",
    )
    sessions.add_argument(
        "words",
        nargs="*",
        metavar="NAME | play ID",
        help="an appliance to list, or `play` and a session id or .cast file",
    )
    sessions.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="replay speed (default 1; pauses over 2 s are shortened)",
    )
    _state_dir_option(sessions, "where the audit log and recordings live")
    _json_option(sessions, "one JSON document")

    status = commands.add_parser("status", help="remote access status of every appliance")
    _inventory_option(status)
    _state_dir_option(status, "where keys, seeds and audit logs live")
    _json_option(status)

    probe = commands.add_parser("probe", help="test DNS and every relay port; recommend one")
    probe.add_argument(
        "host", nargs="?", metavar="HOST", help="relay host, or an appliance with --inventory"
    )
    probe.add_argument("--series", choices=["C", "X", "M", "S"])
    probe.add_argument(
        "--ports", metavar="PORT[,PORT...]", help="ports to test, e.g. 22,25,53,80,443,4766"
    )
    probe.add_argument(
        "--nameserver",
        action="append",
        metavar="IP[:PORT]",
        help="DNS server to ask (repeatable); default: inventory or system",
    )
    probe.add_argument(
        "--timeout", type=float, default=3.0, metavar="SECONDS", help="seconds (default 3)"
    )
    probe.add_argument(
        "--handshake",
        action="store_true",
        help="full SSH key exchange and host key check on SSH ports",
    )
    probe.add_argument(
        "--known-hosts", type=_path, metavar="FILE", help="pinned relay keys for --handshake"
    )
    probe.add_argument("--preset", metavar="NAME", help="a vendor's relay layout: cisco")
    probe.add_argument(
        "--proxy",
        metavar="http://[USER:PASS@]HOST:PORT",
        help="test through this HTTP CONNECT proxy",
    )
    _inventory_option(probe)
    _json_option(probe)

    capture = commands.add_parser(
        "capture", help="packet capture of one connection attempt to an appliance's relay"
    )
    capture.add_argument("name", metavar="NAME", help="appliance name")
    _inventory_option(capture)
    capture.add_argument(
        "--port", type=int, metavar="PORT", help="relay port (default: the appliance's)"
    )
    capture.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long the attempt may take (default 5)",
    )
    capture.add_argument(
        "--out", type=_path, metavar="FILE", help="pcap file (default: in the state dir)"
    )
    _state_dir_option(capture, "where keys, seeds and audit logs live")
    _json_option(capture)

    support = commands.add_parser("support", help="the support engineer's side")
    support_commands = support.add_subparsers(
        dest="support_command", metavar="ACTION", required=True
    )
    connect = support_commands.add_parser(
        "connect", help="log in to an appliance's (SERVICE) shell through the relay"
    )
    connect.add_argument("serial", metavar="SERIAL")
    connect_seed = connect.add_mutually_exclusive_group()
    connect_seed.add_argument(
        "--seed",
        metavar="SEED|-",
        help="the appliance's seed; '-' reads it from stdin (without "
        "--seed or --seed-file, rac asks for it without echo; a seed on the command line "
        "is visible to local users)",
    )
    connect_seed.add_argument(
        "--seed-file",
        type=_path,
        metavar="FILE",
        help="read the seed from the first line of FILE (mode 0600)",
    )
    connect.add_argument("--lab", action="store_true", help="use the running built-in lab")
    _state_dir_option(connect, "lab directory (with --lab)")
    connect.add_argument("--relay", metavar="HOST:PORT")
    connect.add_argument("--ca", type=_path, metavar="CAKEY", help="support CA private key")
    connect.add_argument("--key", type=_path, metavar="KEY", help="engineer private key")
    connect.add_argument(
        "--known-hosts", type=_path, metavar="FILE", help="known_hosts pinning the relay"
    )
    connect.add_argument(
        "--as",
        dest="identity",
        metavar="NAME",  # `as` is a keyword
        help="engineer name in the certificate",
    )
    connect.add_argument(
        "--command", metavar="COMMAND", help="run this command and print its output"
    )
    describe(parser)
    return parser


def _handler(args: argparse.Namespace) -> Handler:
    # Imported per command: `rac status` should not pay for Textual, nor the console for
    # what only the relay needs (start-up time is mostly imports).
    verb = args.verb or "console"
    if verb == "console":
        from tui.idle_collector import hold_collections_for_start

        hold_collections_for_start()  # the app releases them once it is up
    module = importlib.import_module(f"tui.commands.{verb}_command")
    handler: Handler = getattr(module, f"run_{verb}_command")
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rac` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return _handler(args)(args)
    except RacError as error:
        print(f"rac: {error.sentence}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if os.environ.get("RAC_DEBUG"):
            raise
        print(
            f"rac: unexpected error ({type(error).__name__}: {error}). "
            "Run again with RAC_DEBUG=1 to see where it came from, and report it.",
            file=sys.stderr,
        )
        return 1
