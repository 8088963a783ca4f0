"""The probe matrix rows that `rac probe` prints and the probe screen draws."""

from __future__ import annotations

from tui.engine.host_key_check import Handshake, HandshakeResult
from tui.engine.port_check import Outcome
from tui.engine.probe import DnsReport, PortReport, Recommendation
from tui.probe_rows import (
    Tone,
    milliseconds,
    pending_row,
    port_row,
    probe_rows,
    recommendation_head,
)

DNS = DnsReport("c.tunnels.rac.test", "127.0.0.1:53", 1.0)


def _report(
    port: int,
    outcome: Outcome,
    *,
    dialled: int | None = None,
    handshake: HandshakeResult | None = None,
) -> PortReport:
    return PortReport(
        port,
        dialled or port,
        "127.0.0.1",
        outcome,
        says="SSH-2.0-x",
        connect_ms=1.25,
        first_byte_ms=None,
        handshake=handshake,
    )


def test_an_ssh_port_is_ok_and_the_recommended_one_is_starred() -> None:
    row = port_row(_report(443, Outcome.SSH), recommended=443)
    assert (row.port_text, row.result, row.tone) == ("★ 443", "ssh", Tone.OK)
    assert (row.connect, row.first_byte, row.dialled) == ("1.2 ms", "—", None)
    assert port_row(_report(22, Outcome.SSH), recommended=443).port_text == "  22"


def test_middleboxes_warn_and_silence_is_bad() -> None:
    assert port_row(_report(25, Outcome.SMTP), None).tone is Tone.WARN
    assert port_row(_report(80, Outcome.HTTP), None).tone is Tone.WARN
    assert port_row(_report(22, Outcome.REFUSED), None).tone is Tone.BAD
    assert port_row(_report(53, Outcome.TIMEOUT), None).tone is Tone.BAD


def test_the_key_check_decides_for_ssh_ports() -> None:
    mismatch = HandshakeResult(Handshake.MISMATCH, presented="SHA256:new", pinned=("SHA256:old",))
    row = port_row(_report(25, Outcome.SSH, handshake=mismatch), None)
    assert row.tone is Tone.BAD and row.result == "ssh-hostkey-mismatch"
    assert row.says == "SSH-2.0-x  key SHA256:new (pinned SHA256:old)"
    unknown = HandshakeResult(Handshake.UNKNOWN, presented="SHA256:new")
    assert port_row(_report(25, Outcome.SSH, handshake=unknown), None).tone is Tone.WARN
    ok = HandshakeResult(Handshake.OK, presented="SHA256:k", pinned=("SHA256:k",))
    row = port_row(_report(25, Outcome.SSH, handshake=ok), None)
    assert row.tone is Tone.OK and row.says == "SSH-2.0-x  key SHA256:k"


def test_a_mapped_port_names_the_port_dialled() -> None:
    assert port_row(_report(25, Outcome.SSH, dialled=40025), None).dialled == 40025


def test_ports_not_answered_yet_say_where_they_stand() -> None:
    assert pending_row(22, None).result == "waiting for DNS"
    assert pending_row(22, DNS).result == "testing…"
    failed = DnsReport("x", "127.0.0.1:53", 1.0, error="nxdomain")
    assert pending_row(22, failed).result == "not tried"
    rows = probe_rows((22, 25), {25: _report(25, Outcome.SSH)}, DNS, 25)
    assert [(r.port, r.tone) for r in rows] == [(22, Tone.PENDING), (25, Tone.OK)]


def test_the_recommendation_head_and_milliseconds() -> None:
    assert recommendation_head(Recommendation(443, "why")) == (Tone.OK, "Recommended: port 443. ")
    assert recommendation_head(Recommendation(None, "why")) == (Tone.BAD, "No usable port. ")
    assert milliseconds(None) == "—" and milliseconds(12.345) == "12.3 ms"
