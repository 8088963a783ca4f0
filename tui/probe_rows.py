"""The probe's port matrix as rows: what each port's line says and how good it is.

`rac probe` prints these rows and the probe screen draws them, so the two never disagree
about a port; each view only maps a tone to its colours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from tui.engine.host_key_check import Handshake
from tui.engine.port_check import Outcome
from tui.engine.probe import DnsReport, PortReport, Recommendation

COLUMNS = ("PORT", "RESULT", "CONNECT", "FIRST BYTE", "SAYS")
"""The matrix's columns, in order; only SAYS wraps."""

RECOMMENDED_MARK = "★ "

_ANSWERS_BUT_NOT_SSH = frozenset({Outcome.SMTP, Outcome.HTTP, Outcome.TLS, Outcome.OTHER})


class Tone(StrEnum):
    """How good a result is; each view maps it to a colour."""

    OK = "ok"
    WARN = "warn"
    BAD = "bad"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class ProbeRow:
    """One port of the matrix."""

    port: int
    recommended: bool
    result: str
    tone: Tone
    connect: str = ""
    first_byte: str = ""
    says: str = ""
    dialled: int | None = None
    """The TCP port actually dialled, when the inventory maps the nominal one elsewhere."""

    @property
    def port_text(self) -> str:
        """`★ 443` for the recommended port, `  25` for the others."""
        return f"{RECOMMENDED_MARK if self.recommended else '  '}{self.port}"


def milliseconds(value: float | None) -> str:
    """`12.3 ms`, or a dash when nothing was measured."""
    return "—" if value is None else f"{value:.1f} ms"


def tone_of(report: PortReport) -> Tone:
    """OK for a usable SSH port, WARN for a middlebox or a key not pinned yet, BAD otherwise."""
    if report.usable:
        unknown = report.handshake is not None and report.handshake.verdict is Handshake.UNKNOWN
        return Tone.WARN if unknown else Tone.OK
    return Tone.WARN if report.outcome in _ANSWERS_BUT_NOT_SSH else Tone.BAD


def port_row(report: PortReport, recommended: int | None, *, key_in_says: bool = True) -> ProbeRow:
    """The row of a port that has answered (or failed to); `key_in_says=False` leaves the
    host key out, for a view that prints keys on lines of their own (`key_lines`)."""
    says = report.says
    handshake = report.handshake
    if key_in_says and handshake is not None and handshake.presented:
        says = f"{says}  key {handshake.presented}".strip()
        if handshake.verdict is Handshake.MISMATCH and handshake.pinned:
            says += f" (pinned {', '.join(handshake.pinned)})"
    return ProbeRow(
        report.port,
        report.port == recommended,
        report.label,
        tone_of(report),
        milliseconds(report.connect_ms),
        milliseconds(report.first_byte_ms),
        says,
        report.dialled if report.dialled != report.port else None,
    )


def pending_row(port: int, dns: DnsReport | None) -> ProbeRow:
    """The row of a port not answered yet: waiting for DNS, testing, or never tried."""
    if dns is None:
        result = "waiting for DNS"
    elif dns.error:
        result = "not tried"
    else:
        result = "testing…"
    return ProbeRow(port, False, result, Tone.PENDING)


def probe_rows(
    ports: Iterable[int],
    answered: Mapping[int, PortReport],
    dns: DnsReport | None,
    recommended: int | None,
    *,
    key_in_says: bool = True,
) -> list[ProbeRow]:
    """Every port in order: its answer, or where it stands."""
    return [
        port_row(answered[port], recommended, key_in_says=key_in_says)
        if port in answered
        else pending_row(port, dns)
        for port in ports
    ]


def key_lines(reports: Iterable[PortReport]) -> list[str]:
    """`key on port 22: SHA256:… (pinned SHA256:…)`: one line per host key presented, so a
    key is never wrapped or cut by a narrow column (80 columns, or a pipe)."""
    lines = []
    for report in reports:
        shake = report.handshake
        if shake is not None and shake.presented:
            pinned = f" (pinned {', '.join(shake.pinned)})" if shake.pinned else ""
            lines.append(f"key on port {report.port}: {shake.presented}{pinned}")
    return lines


def recommendation_head(recommendation: Recommendation) -> tuple[Tone, str]:
    """`Recommended: port 443. ` (OK) or `No usable port. ` (BAD); the why follows it."""
    if recommendation.port is None:
        return Tone.BAD, "No usable port. "
    return Tone.OK, f"Recommended: port {recommendation.port}. "
