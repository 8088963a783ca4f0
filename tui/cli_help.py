"""What `rac … --help` says beyond the parser itself: a readable metavar for every option, a
sentence for every option that has none, and an example per command.

Applied to the finished parser (one call in `build_parser`), so the options stay declared in
one place and their help in this one.
"""

from __future__ import annotations

import argparse

# Readable metavars by option name (argparse would print the dest: AGENT_INVENTORY).
METAVARS = {
    "--inventory": "FILE",
    "--state-dir": "DIR",
    "--config": "FILE",
    "--port": "PORT",
    "--gateway": "NAME",
    "--lifetime": "DURATION",
    "--ports": "PORT[,PORT...]",
    "--timeout": "SECONDS",
    "--seconds": "SECONDS",
    "--preset": "NAME",
    "--out": "FILE",
    "--theme": "NAME",
    "--as": "NAME",
    "--command": "CMD",
    "--relay": "HOST:PORT",
}

# Help for options declared without one, by (command path, option).
HELP = {
    ("agent", "--state-dir"): "where keys, seeds and the audit log live (default: the user "
    "state dir, ~/.local/state/rac); the console's lab uses ~/.local/state/rac/lab/state",
    ("status", "--state-dir"): "the state dir of the agent or console to report on (default: "
    "~/.local/state/rac; the console's lab: ~/.local/state/rac/lab/state)",
    ("status", "--json"): 'one JSON document: {"appliances": [...]} with state, reason, '
    "failed_stage, port, sessions",
    ("probe", "--series"): "appliance series whose relay name to test (C, X: email; M: "
    "management; S: web)",
    ("probe", "--inventory"): "take relay names, ports, port map, resolvers, pins and proxy "
    "from this inventory",
    ("probe", "--json"): "the whole report as one JSON document",
    ("capture", "--state-dir"): "where captures/ is created (default: ~/.local/state/rac)",
    ("capture", "--json"): "the capture summary as one JSON document",
    ("relay list", "--json"): "the enrolments as one JSON document",
    ("support connect", "serial"): "the appliance's serial number (as the operator gave it)",
    ("support connect", "--relay"): "the relay's engineer port (without --lab)",
    ("relay enrol", "serial"): "the appliance's serial number",
    ("relay revoke", "serial"): "the appliance's serial number",
}

EXAMPLES = {
    "": "rac                                   # the console on the built-in lab\n"
    "  rac --inventory fleet.toml            # the console on a real fleet",
    "lab": "rac lab --state-dir /tmp/lab          # then: rac support connect … --lab",
    "relay": "rac relay --config /etc/rac/relay.toml",
    "relay enrol": "rac relay enrol 0C4A1D8E2F61-FCH2143V0AB mail-gw-1.pub --config relay.toml",
    "relay revoke": "rac relay revoke 0C4A1D8E2F61-FCH2143V0AB --config relay.toml",
    "relay list": "rac relay list --config relay.toml --json",
    "agent": "rac agent --inventory fleet.toml --enable mail-gw-1 --port 443 --json",
    "status": "rac status --inventory fleet.toml --state-dir ~/.local/state/rac/lab/state",
    "sessions": "rac sessions mail-gw-1 --json\n  rac sessions play 'mail-gw-1#3' --speed 4",
    "probe": "rac probe upgrades.example.com --ports 22,25,443 --handshake\n"
    "  rac probe mail-gw-1 --inventory fleet.toml --json",
    "capture": "rac capture mail-gw-1 --inventory fleet.toml --port 25 --seconds 5",
    "support": "rac support connect 0C4A1D8E2F61-FCH2143V0AB --lab",
    "support connect": "rac support connect 0C4A1D8E2F61-FCH2143V0AB --lab   # asks for "
    "the seed\n  rac support connect SERIAL --seed-file seed.txt "
    "--relay relay.example.com:22 --ca ca --key id_ed25519 "
    "--known-hosts relay_known_hosts",
}


def describe(parser: argparse.ArgumentParser, path: str = "") -> None:
    """Fill in metavars, missing help and the example of `parser` and its subcommands."""
    example = EXAMPLES.get(path)
    if example is not None:
        parser.epilog = f"example:\n  {example}"
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                describe(sub, f"{path} {name}".strip())
            continue
        option = max(action.option_strings, key=len, default=action.dest)
        if (
            action.option_strings
            and action.nargs != 0
            and action.metavar is None
            and action.choices is None
            and option in METAVARS
        ):
            action.metavar = METAVARS[option]
        if not action.help and action.help is not argparse.SUPPRESS:
            action.help = HELP.get((path, option)) or HELP.get((path, action.dest))
