"""`rac probe`: a firewall pre-flight check — DNS, then every relay port, and a recommendation."""

from __future__ import annotations

import argparse
import asyncio
import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tui.engine.errors import UsageError
from tui.engine.http_proxy import parse_proxy_url
from tui.engine.inventory import DEFAULT_PORT, RELAY_PORTS, Series, load_inventory
from tui.engine.nameserver_address import parse_nameserver
from tui.engine.probe import ProbeReport, ProbeTarget, probe_target_for, run_probe
from tui.engine.probe_presets import PRESETS
from tui.probe_rows import COLUMNS, Tone, key_lines, probe_rows, recommendation_head

MAX_TIMEOUT = 120.0
_STYLES = {Tone.OK: "green", Tone.WARN: "yellow", Tone.BAD: "red", Tone.PENDING: "dim"}


def run_probe_command(args: argparse.Namespace) -> int:
    """Exit 0 when some port works, 1 when none does, 2 on usage errors."""
    target = probe_target(args)
    report = asyncio.run(run_probe(target))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print_report(report, Console())
    return 0 if report.usable else 1


def _ports(text: str) -> tuple[int, ...]:
    ports = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or not 0 < int(part) < 65536:
            raise UsageError(
                f"--ports {text!r}: {part!r} is not a port number (1-65535); "
                "write them like 22,25,443."
            )
        ports.append(int(part))
    return tuple(dict.fromkeys(ports))


def probe_target(args: argparse.Namespace) -> ProbeTarget:
    """Work out host, ports, resolvers and pins from the arguments (inventory, preset, host)."""
    if args.timeout <= 0 or args.timeout > MAX_TIMEOUT:
        raise UsageError(
            f"--timeout {args.timeout}: give a number of seconds above 0 and at "
            f"most {MAX_TIMEOUT:.0f}."
        )
    series = Series(args.series) if args.series else None
    ports = _ports(args.ports) if args.ports else None
    nameservers = tuple(args.nameserver or ())
    for server in nameservers:
        try:
            parse_nameserver(server)
        except ValueError as error:
            raise UsageError(f"--nameserver: {error}; write IP or IP:PORT.") from None
    proxy = None
    if args.proxy:
        try:
            proxy = parse_proxy_url(args.proxy)
        except ValueError as error:
            raise UsageError(f"--proxy: {error}.") from None
    if args.inventory is not None:
        inventory = load_inventory(args.inventory)
        names = {a.name: a for a in inventory.appliance}
        if args.host in names and not ports and not nameservers and not proxy:
            return probe_target_for(
                inventory, names[args.host], timeout=args.timeout, handshake=args.handshake
            )
        if args.host in names:
            host = inventory.relay_host(names[args.host])
        elif series is not None:
            host = (
                inventory.relay.hosts.get(series)
                or f"{series.value.lower()}.tunnels.{inventory.relay.domain}"
            )
        elif args.host:
            host = args.host
        else:
            raise UsageError("With --inventory, name an appliance or give --series.")
        return ProbeTarget(
            host,
            ports or inventory.relay.ports,
            inventory.relay.default_port,
            nameservers or inventory.relay.nameservers,
            dict(inventory.relay.port_map),
            args.timeout,
            args.handshake,
            args.known_hosts or inventory.known_hosts_path,
            proxy=proxy or inventory.relay.proxy_route,
        )
    if args.preset is not None:
        preset = PRESETS.get(args.preset)
        if preset is None:
            raise UsageError(f"--preset {args.preset!r}: known presets are {', '.join(PRESETS)}.")
        return ProbeTarget(
            args.host or preset.host(series),
            ports or preset.ports,
            preset.default_port,
            nameservers,
            {},
            args.timeout,
            args.handshake,
            args.known_hosts,
            proxy=proxy,
        )
    if not args.host:
        raise UsageError("Name the relay host to test, or use --inventory or --preset.")
    return ProbeTarget(
        args.host,
        ports or RELAY_PORTS,
        DEFAULT_PORT,
        nameservers,
        {},
        args.timeout,
        args.handshake,
        args.known_hosts,
        proxy=proxy,
    )


def print_report(report: ProbeReport, console: Console) -> None:
    """The compact matrix: DNS line, one row per port, the recommendation."""
    dns = report.dns
    line = Text("DNS   ", style="bold")
    line.append(f"{dns.host} ")
    if dns.error:
        line.append(f"{dns.error}", style="bold red")
    else:
        line.append(
            ", ".join(f"{a.address} ({a.rdtype}, ttl {a.ttl})" for a in dns.answers), style="green"
        )
    line.append(f"   resolver {dns.resolver}, {dns.elapsed_ms:.0f} ms", style="dim")
    console.print(line)
    if report.ports:
        table = Table(box=None, padding=(0, 2), show_edge=False)
        for title in COLUMNS:
            table.add_column(title, no_wrap=title != "SAYS")
        answered = {port.port: port for port in report.ports}
        for row in probe_rows(answered, answered, dns, report.recommended.port, key_in_says=False):
            dialled = f"→{row.dialled}" if row.dialled is not None else ""
            table.add_row(
                f"{row.port_text}{dialled}",
                Text(row.result, style=_STYLES[row.tone]),
                row.connect,
                row.first_byte,
                Text(row.says),
            )
        console.print(table)
        # Keys on lines of their own, never wrapped or cut (80 columns, or a pipe).
        for key_line in key_lines(report.ports):
            console.print(key_line, soft_wrap=True, highlight=False)
    tone, head = recommendation_head(report.recommended)
    console.print(Text(head, style=f"bold {_STYLES[tone]}") + Text(report.recommended.why))
