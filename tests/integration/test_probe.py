"""The connectivity probe against real loopback servers: every class, DNS failures, handshakes,
the recommendation, the JSON schema, the exit codes, and the agent's use of the same classifier.
"""

from __future__ import annotations

import asyncio
import json
import string
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import asyncssh
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import EngineFactory, RunningLab
from tests.fault_servers import blackhole, closed_port, fault_server
from tests.lab_names import LAB_C, LAB_C_RELAY
from tui.engine import resolver
from tui.engine.first_bytes import Speaker, classify_first_bytes
from tui.engine.host_key_check import Handshake
from tui.engine.lab.dns_responder import DnsFault, DnsResponder
from tui.engine.port_check import Outcome, check_port
from tui.engine.probe import PortReport, ProbeTarget, recommend, run_probe
from tui.engine.reasons import Reason
from tui.engine.states import TunnelState

TIMEOUT = 1.5
RAC = [sys.executable, "-m", "tui"]
FAULTS = {
    "smtp": Outcome.SMTP,
    "http": Outcome.HTTP,
    "tls": Outcome.TLS,
    "reset": Outcome.RESET,
    "closed": Outcome.CLOSED,
    "garbage": Outcome.OTHER,
    "silent": Outcome.TIMEOUT,
}


@asynccontextmanager
async def any_server(kind: str) -> AsyncIterator[int]:
    """A fault server, a closed port or a blackhole, by name."""
    if kind == "refused":
        async with closed_port() as port:
            yield port
    elif kind == "blackhole":
        async with blackhole() as port:
            yield port
    else:
        async with fault_server(kind) as port:
            yield port


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [*FAULTS.items(), ("refused", Outcome.REFUSED), ("blackhole", Outcome.TIMEOUT)],
)
async def test_every_class_is_recognised(kind: str, outcome: Outcome) -> None:
    async with any_server(kind) as port:
        answer = await check_port("127.0.0.1", port, timeout=TIMEOUT)
    assert answer.outcome is outcome
    if kind == "blackhole":
        assert answer.connect_ms is None  # the SYN was never answered
    if kind == "silent":
        assert answer.connect_ms is not None and answer.silent


async def test_ssh_class_shows_the_banner(lab: RunningLab) -> None:
    answer = await check_port("127.0.0.1", lab.info.relay_ports["25"], timeout=TIMEOUT)
    assert answer.outcome is Outcome.SSH
    assert answer.shown == "SSH-2.0-rac-relay_0.1"
    assert answer.connect_ms is not None and answer.first_byte_ms is not None


async def test_mixed_ports_at_once_and_the_recommendation(lab: RunningLab) -> None:
    async with AsyncExitStack() as stack:
        smtp = await stack.enter_async_context(any_server("smtp"))
        refused = await stack.enter_async_context(any_server("refused"))
        http = await stack.enter_async_context(any_server("http"))
        hole = await stack.enter_async_context(any_server("blackhole"))
        port_map = {
            "22": refused,
            "25": smtp,
            "53": hole,
            "80": http,
            "443": lab.info.relay_ports["443"],
            "4766": lab.info.relay_ports["4766"],
        }
        target = ProbeTarget(
            LAB_C_RELAY, (22, 25, 53, 80, 443, 4766), 25, (lab.info.dns,), port_map, TIMEOUT
        )
        seen: list[int] = []
        loop = asyncio.get_running_loop()
        started = loop.time()
        report = await run_probe(target, on_port=lambda p: seen.append(p.port))
        took = loop.time() - started
    classes = {p.port: p.outcome for p in report.ports}
    assert classes == {
        22: Outcome.REFUSED,
        25: Outcome.SMTP,
        53: Outcome.TIMEOUT,
        80: Outcome.HTTP,
        443: Outcome.SSH,
        4766: Outcome.SSH,
    }
    assert sorted(seen) == [22, 25, 53, 80, 443, 4766]
    assert report.dns.answers[0].address == "127.0.0.1" and report.dns.answers[0].ttl == 60
    assert report.recommended.port == 443
    assert report.recommended.why == (
        "Port 25 answers with an SMTP greeting (a firewall "
        "inspecting SMTP); port 443 is the first port that "
        "answers with SSH."
    )
    # all ports at once: bounded by one timeout (plus DNS), not six
    assert took < 2 * TIMEOUT + 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (DnsFault.NXDOMAIN, "nxdomain"),
        (DnsFault.SERVFAIL, "servfail"),
        (DnsFault.DROP, "timeout"),
        (DnsFault.EMPTY, "no-answer"),
    ],
)
async def test_dns_failures_are_named(fault: DnsFault, error: str) -> None:
    dns = DnsResponder({"relay.test": ["127.0.0.1"]}, {"relay.test": fault})
    server = await dns.start()
    try:
        report = await run_probe(ProbeTarget("relay.test", (22,), 22, (server,), timeout=0.5))
    finally:
        dns.close()
    assert report.dns.error == error
    assert report.ports == () and report.recommended.port is None
    assert f"DNS failed ({error})" in report.recommended.why


async def test_no_resolver_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "resolv.conf"
    empty.write_text("")
    monkeypatch.setattr(resolver, "SYSTEM_RESOLV_CONF", str(empty))
    report = await run_probe(ProbeTarget("relay.test", (22,), 22))
    assert report.dns.error == "no-resolver"


async def test_handshake_checks_the_pinned_key(lab: RunningLab, tmp_path: Path) -> None:
    target = ProbeTarget(
        LAB_C_RELAY,
        (25,),
        25,
        (lab.info.dns,),
        {"25": lab.info.relay_ports["25"]},
        TIMEOUT,
        True,
        lab.info.known_hosts,
    )
    good = await run_probe(target)
    assert good.ports[0].handshake is not None
    assert good.ports[0].handshake.verdict is Handshake.OK
    assert good.ports[0].label == "ssh-ok"

    impostor = asyncssh.generate_private_key("ssh-ed25519")
    pins = tmp_path / "known_hosts"
    pins.write_text(f"{LAB_C_RELAY} {impostor.export_public_key().decode()}")
    bad = await run_probe(
        ProbeTarget(
            target.host, target.ports, 25, target.nameservers, target.port_map, TIMEOUT, True, pins
        )
    )
    handshake = bad.ports[0].handshake
    assert handshake is not None and handshake.verdict is Handshake.MISMATCH
    assert handshake.presented == lab.info.relay_fingerprint
    assert handshake.pinned == (impostor.get_fingerprint("sha256"),)
    assert bad.recommended.port is None
    assert "presents a host key different from the pinned one" in bad.recommended.why
    assert "this can be an attack" in bad.recommended.why


def _report(port: int, outcome: Outcome) -> PortReport:
    return PortReport(port, port, "127.0.0.1", outcome)


@pytest.mark.parametrize(
    ("outcomes", "default", "expected"),
    [
        ({22: Outcome.SSH, 25: Outcome.SSH}, 25, 25),
        ({22: Outcome.SSH, 25: Outcome.SMTP, 443: Outcome.SSH}, 25, 443),
        ({22: Outcome.SSH, 25: Outcome.SMTP, 80: Outcome.SSH}, 25, 22),
        ({22: Outcome.TIMEOUT, 25: Outcome.RESET, 443: Outcome.SSH}, 25, 443),
        ({22: Outcome.REFUSED, 25: Outcome.TLS}, 25, None),
        ({443: Outcome.SSH, 80: Outcome.SSH}, 25, 443),
    ],
)
def test_recommendation_prefers_the_default_then_firewall_friendly_ports(
    outcomes: dict[int, Outcome], default: int, expected: int | None
) -> None:
    reports = tuple(_report(port, outcome) for port, outcome in outcomes.items())
    assert recommend(reports, default).port == expected


@pytest.mark.parametrize(("in_use", "expected"), [(443, 443), (22, 22), (80, 25)])
def test_recommendation_prefers_the_port_in_use_when_it_works(in_use: int, expected: int) -> None:
    outcomes = {22: Outcome.SSH, 25: Outcome.SSH, 80: Outcome.TIMEOUT, 443: Outcome.SSH}
    reports = tuple(_report(port, outcome) for port, outcome in outcomes.items())
    assert recommend(reports, 25, in_use).port == expected


@given(st.binary(max_size=600))
def test_classifier_never_raises_and_is_safe_to_print(data: bytes) -> None:
    words = classify_first_bytes(data)
    assert isinstance(words.speaker, Speaker)
    assert all(ch in string.printable and ch not in "\t\n\r\x0b\x0c" for ch in words.shown)
    assert len(words.shown) <= 4 * 80


async def test_the_agent_fails_with_the_probe_class(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    async with fault_server("http") as http_port:
        engine, events = await make_engine(
            lab.inventory_with(port_map={**lab.info.relay_ports, "25": http_port})
        )
        await engine.enable(LAB_C)
        retrying = await events.wait_state(LAB_C, TunnelState.RETRYING)
        report = await engine.probe(LAB_C)
    assert retrying.reason == Reason.NOT_SSH_HTTP
    assert {p.port: p.outcome for p in report.ports}[25] is Outcome.HTTP


async def _rac(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *RAC, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_json_schema_and_exit_codes(lab: RunningLab) -> None:
    code, out, _ = await _rac(
        "probe",
        LAB_C,
        "--inventory",
        str(lab.info.inventory),
        "--json",
        "--handshake",
        "--timeout",
        "2",
    )
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"host", "timeout", "dns", "ports", "recommended", "why"}
    assert set(doc["dns"]) == {"resolver", "elapsed_ms", "error", "answers"}
    assert doc["dns"]["answers"] == [{"type": "A", "address": "127.0.0.1", "ttl": 60}]
    assert [p["port"] for p in doc["ports"]] == [22, 25, 53, 80, 443, 4766]
    for port in doc["ports"]:
        assert set(port) == {
            "port",
            "dialled_port",
            "address",
            "class",
            "usable",
            "says",
            "connect_ms",
            "first_byte_ms",
            "handshake",
        }
        assert port["class"] == "ssh" and port["handshake"]["result"] == "ssh-ok"
    assert doc["recommended"] == {"port": 25, "why": "Port 25, the default, answers with SSH."}

    async with closed_port() as refused:
        code, out, _ = await _rac("probe", "127.0.0.1", "--ports", str(refused), "--json")
    assert code == 1 and json.loads(out)["recommended"] is None

    code, _, err = await _rac("probe", "127.0.0.1", "--ports", "22,http")
    assert code == 2 and "'http' is not a port number" in err
    code, _, err = await _rac("probe")
    assert code == 2 and "Name the relay host" in err


async def test_cli_human_matrix(lab: RunningLab) -> None:
    async with fault_server("smtp") as smtp:
        code, out, _ = await _rac(
            "probe",
            "127.0.0.1",
            "--ports",
            f"{smtp},{lab.info.relay_ports['22']}",
            "--timeout",
            "2",
        )
    assert code == 0
    assert "220 mx.example.com ESMTP" in out and "SSH-2.0-rac-relay_0.1" in out
    assert "Recommended: port" in out


async def test_preset_cisco_pointed_at_loopback(lab: RunningLab) -> None:
    names = ["upgrades.ironport.com"] + [f"{s}.tunnels.ironport.com" for s in "cxms"]
    dns = DnsResponder({name: ["127.0.0.1"] for name in names})
    server = await dns.start()
    try:
        code, out, _ = await _rac(
            "probe",
            "--preset",
            "cisco",
            "--series",
            "X",
            "--nameserver",
            server,
            "--ports",
            f"{lab.info.relay_ports['25']}",
            "--json",
        )
    finally:
        dns.close()
    doc = json.loads(out)
    assert code == 0
    assert doc["host"] == "x.tunnels.ironport.com"
    assert doc["ports"][0]["says"] == "SSH-2.0-rac-relay_0.1"
