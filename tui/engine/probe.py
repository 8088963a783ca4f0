"""The connectivity probe: DNS, then every relay port at once, classified, and a recommendation.

It is the reference troubleshooting ("telnet to the port, look for SSH-2.0") made exact, and it
uses the agent's own port check, so what it calls `smtp` is what the agent fails with.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.engine.errors import UsageError
from tui.engine.host_key_check import Handshake, HandshakeResult, check_handshake
from tui.engine.http_proxy import ProxyHop, ProxyRoute
from tui.engine.inventory import ApplianceConfig, Inventory
from tui.engine.port_check import Outcome, check_port, open_ssh_socket
from tui.engine.port_preference import preference_order
from tui.engine.reasons import Reason
from tui.engine.resolver import Answer, ResolveError, resolve
from tui.engine.states import Mode

DEFAULT_TIMEOUT = 3.0

# The probe's names for DNS failures: the agent's reasons without the "dns-" prefix.
_DNS_ERRORS = {
    Reason.DNS_NXDOMAIN: "nxdomain",
    Reason.DNS_SERVFAIL: "servfail",
    Reason.DNS_TIMEOUT: "timeout",
    Reason.DNS_NO_RESOLVER: "no-resolver",
    Reason.DNS_NO_ANSWER: "no-answer",
}


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """What to test: a host, its ports (nominal, and the TCP port each is dialled on)."""

    host: str
    ports: tuple[int, ...]
    default_port: int
    nameservers: tuple[str, ...] = ()
    port_map: dict[str, int] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    handshake: bool = False
    known_hosts: Path | None = None
    timer: Callable[[], float] = time.perf_counter
    proxy: ProxyRoute | None = None
    in_use: int | None = None

    def dialled(self, port: int) -> int:
        """The TCP port dialled for a nominal port."""
        return self.port_map.get(str(port), port)


@dataclass(frozen=True, slots=True)
class DnsReport:
    """How the name resolved, or why it did not."""

    host: str
    resolver: str
    elapsed_ms: float
    answers: tuple[Answer, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PortReport:
    """One port's outcome."""

    port: int
    dialled: int
    address: str
    outcome: Outcome
    says: str = ""
    connect_ms: float | None = None
    first_byte_ms: float | None = None
    handshake: HandshakeResult | None = None

    @property
    def usable(self) -> bool:
        """An SSH banner came back (and, when checked, a key exchange with no pin broken)."""
        if self.outcome is not Outcome.SSH:
            return False
        return self.handshake is None or self.handshake.verdict in (Handshake.OK, Handshake.UNKNOWN)

    @property
    def label(self) -> str:
        """The class shown: the handshake verdict when there was one."""
        return self.handshake.verdict.value if self.handshake else self.outcome.value


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The port to use, and the sentence that says why (port None: none works)."""

    port: int | None
    why: str


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """The whole probe."""

    target: ProbeTarget
    dns: DnsReport
    ports: tuple[PortReport, ...]
    recommended: Recommendation

    @property
    def usable(self) -> bool:
        """Some port works."""
        return self.recommended.port is not None

    def to_json(self) -> dict[str, Any]:
        """The `--json` document."""
        dns = self.dns
        return {
            "host": self.target.host,
            "timeout": self.target.timeout,
            "dns": {
                "resolver": dns.resolver,
                "elapsed_ms": round(dns.elapsed_ms, 2),
                "error": dns.error,
                "answers": [
                    {"type": a.rdtype, "address": a.address, "ttl": a.ttl} for a in dns.answers
                ],
            },
            "ports": [_port_json(report) for report in self.ports],
            "recommended": (
                {"port": self.recommended.port, "why": self.recommended.why}
                if self.recommended.port is not None
                else None
            ),
            "why": self.recommended.why,
        }


def _port_json(report: PortReport) -> dict[str, Any]:
    data: dict[str, Any] = {
        "port": report.port,
        "dialled_port": report.dialled,
        "address": report.address,
        "class": report.outcome.value,
        "usable": report.usable,
        "says": report.says,
        "connect_ms": None if report.connect_ms is None else round(report.connect_ms, 2),
        "first_byte_ms": None if report.first_byte_ms is None else round(report.first_byte_ms, 2),
        "handshake": None,
    }
    if report.handshake is not None:
        data["handshake"] = {
            "result": report.handshake.verdict.value,
            "presented": report.handshake.presented,
            "pinned": list(report.handshake.pinned),
            "error": report.handshake.error,
        }
    return data


_WHY = {
    Outcome.SMTP: "answers with an SMTP greeting (a firewall inspecting SMTP)",
    Outcome.HTTP: "answers with HTTP (a proxy)",
    Outcome.TLS: "answers with TLS (TLS interception)",
    Outcome.REFUSED: "is refused",
    Outcome.TIMEOUT: "does not answer (filtered or dropped)",
    Outcome.RESET: "is reset",
    Outcome.CLOSED: "closes without a word",
    Outcome.OTHER: "answers with something other than SSH",
    Outcome.UNREACHABLE: "is unreachable",
    Outcome.PROXY_REFUSED: "is refused by the HTTP proxy",
    Outcome.PROXY_AUTH: "needs proxy credentials",
}


def _failure_words(report: PortReport) -> str:
    if report.handshake is not None and not report.usable:
        if report.handshake.verdict is Handshake.MISMATCH:
            return "presents a host key different from the pinned one"
        return "answers SSH but the key exchange fails"
    return _WHY.get(report.outcome, report.outcome.value)


def recommend(
    ports: tuple[PortReport, ...], default_port: int, in_use: int | None = None
) -> Recommendation:
    """The first port that works in the one preference order (see `port_preference`): the
    port in use, the default, then the ports firewalls most often let out."""
    by_port = {report.port: report for report in ports}
    order = preference_order((r.port for r in ports), default=default_port, in_use=in_use)
    for port in order:
        report = by_port[port]
        if not report.usable:
            continue
        if port == in_use:
            return Recommendation(port, f"Port {port}, the port in use, answers with SSH.")
        if port == default_port:
            return Recommendation(port, f"Port {port}, the default, answers with SSH.")
        skipped = [by_port[p] for p in (in_use, default_port) if p in by_port]
        before = "; ".join(f"port {r.port} {_failure_words(r)}" for r in dict.fromkeys(skipped))
        lead = f"{before[0].upper()}{before[1:]}; p" if before else "P"
        return Recommendation(port, f"{lead}ort {port} is the first port that answers with SSH.")
    if any(r.handshake is not None and r.handshake.verdict is Handshake.MISMATCH for r in ports):
        return Recommendation(
            None,
            "The relay answers SSH but presents a host key different "
            "from the pinned one: this can be an attack. Compare the "
            "fingerprint with the vendor's before you accept it.",
        )
    return Recommendation(
        None,
        "No port answers with SSH: ask the firewall administrator to "
        "allow outbound connections to the relay on one of these ports.",
    )


DnsListener = Callable[[DnsReport], None]
PortListener = Callable[[PortReport], None]


async def run_probe(
    target: ProbeTarget, *, on_dns: DnsListener | None = None, on_port: PortListener | None = None
) -> ProbeReport:
    """Resolve, then test every port concurrently; listeners see each answer as it comes."""
    name = target.proxy.host if target.proxy else target.host  # a proxy resolves the relay
    try:
        resolution = await resolve(
            name, target.nameservers, timeout=target.timeout, timer=target.timer
        )
    except ResolveError as error:
        dns = DnsReport(
            name,
            error.resolver,
            error.elapsed_ms,
            error=_DNS_ERRORS.get(error.reason, error.reason.value),
        )
        if on_dns:
            on_dns(dns)
        return ProbeReport(
            target,
            dns,
            (),
            Recommendation(
                None,
                f"DNS failed ({dns.error}): the relay name cannot be resolved, so no port "
                "can be tried.",
            ),
        )
    dns = DnsReport(name, resolution.resolver, resolution.elapsed_ms, resolution.answers)
    if on_dns:
        on_dns(dns)
    address = resolution.addresses[0]

    async def one(port: int) -> PortReport:
        report = await probe_port(target, address, port)
        if on_port:
            on_port(report)
        return report

    reports = tuple(await asyncio.gather(*(one(port) for port in target.ports)))
    return ProbeReport(target, dns, reports, recommend(reports, target.default_port, target.in_use))


async def probe_port(target: ProbeTarget, address: str, port: int) -> PortReport:
    """Connect, listen (nudging a silent server), classify; optionally shake hands."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    dialled = target.dialled(port)
    hop = ProxyHop(address, target.proxy, target.host) if target.proxy else None
    if target.handshake:
        answer = await open_ssh_socket(
            address, dialled, timeout=target.timeout, timer=target.timer, via=hop
        )
    else:
        answer = await check_port(
            address, dialled, timeout=target.timeout, timer=target.timer, via=hop
        )
    handshake = None
    if answer.sock is not None:
        remaining = target.timeout - (loop.time() - started)
        handshake = await check_handshake(answer.sock, target.host, target.known_hosts, remaining)
    elif target.handshake and answer.outcome is Outcome.SSH:
        handshake = HandshakeResult(Handshake.FAILED, error="the port did not answer again")
    return PortReport(
        port,
        dialled,
        address,
        answer.outcome,
        answer.shown,
        answer.connect_ms,
        answer.first_byte_ms,
        handshake,
    )


def probe_target_for(
    inventory: Inventory,
    appliance: ApplianceConfig,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    handshake: bool = True,
    timer: Callable[[], float] = time.perf_counter,
) -> ProbeTarget:
    """The relay an appliance's agent dials, with its ports, resolvers and pinned key."""
    if appliance.mode is Mode.SSHACCESS:
        raise UsageError(
            f"{appliance.name} has no tunnel of its own: it is reached through "
            f"{appliance.gateway}; test that appliance instead."
        )
    relay = inventory.relay
    return ProbeTarget(
        inventory.relay_host(appliance),
        relay.ports,
        relay.default_port,
        relay.nameservers,
        dict(relay.port_map),
        timeout,
        handshake,
        inventory.known_hosts_path,
        timer,
        relay.proxy_route,
    )
