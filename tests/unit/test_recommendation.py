"""Which relay port the probe recommends, from port reports (no sockets)."""

from __future__ import annotations

from tui.engine.host_key_check import Handshake, HandshakeResult
from tui.engine.port_check import Outcome
from tui.engine.probe import PortReport, recommend


def _port(port: int, outcome: Outcome, verdict: Handshake | None = None) -> PortReport:
    handshake = HandshakeResult(verdict) if verdict is not None else None
    return PortReport(port, port, "127.0.0.1", outcome, handshake=handshake)


def test_the_default_port_wins_when_it_works() -> None:
    ports = (_port(22, Outcome.SSH), _port(25, Outcome.SSH))
    assert recommend(ports, 25).port == 25


def test_otherwise_the_first_working_port_and_why_the_default_failed() -> None:
    ports = (_port(22, Outcome.REFUSED), _port(25, Outcome.SMTP), _port(443, Outcome.SSH))
    advice = recommend(ports, 25)
    assert advice.port == 443
    assert advice.why.startswith("Port 25 ") and "port 443 is the first port" in advice.why


def test_a_key_mismatch_is_never_recommended_and_is_called_an_attack() -> None:
    ports = (_port(25, Outcome.SSH, Handshake.MISMATCH),)
    advice = recommend(ports, 25)
    assert advice.port is None and "attack" in advice.why


def test_an_unknown_key_still_works_but_a_failed_exchange_does_not() -> None:
    assert recommend((_port(25, Outcome.SSH, Handshake.UNKNOWN),), 25).port == 25
    failed = recommend(
        (_port(25, Outcome.SSH, Handshake.FAILED), _port(80, Outcome.SSH, Handshake.OK)), 25
    )
    assert failed.port == 80 and "key exchange fails" in failed.why


def test_nothing_works() -> None:
    advice = recommend((_port(25, Outcome.TIMEOUT),), 25)
    assert advice.port is None and "No port answers with SSH" in advice.why
