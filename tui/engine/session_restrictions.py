"""Who may come in during one enablement: named engineers and a time window.

Like Cisco RADKit's per-engineer authorisation: the operator may admit only some engineers
(the certificate's key ID, `ssh-keygen -I NAME`) and only between two times. The endpoint
checks this at login; a refusal carries the sentence the engineer and the audit log see.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from tui.engine.errors import UsageError

_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a login is refused, said twice: in full to the operator (log, audit), and to the
    engineer (the auth banner) only why they are refused: never who else may come in, nor
    when a window that has closed was open."""

    operator: str
    engineer: str


@dataclass(frozen=True, slots=True)
class SessionRestrictions:
    """Empty engineers means anyone with a valid certificate; None times mean no bound."""

    engineers: tuple[str, ...] = ()
    not_before: float | None = None
    not_after: float | None = None

    @property
    def any(self) -> bool:
        """Whether anything is restricted at all."""
        return bool(self.engineers) or self.not_before is not None or self.not_after is not None

    def refusal(self, engineer: str, now: float) -> Refusal | None:
        """Why `engineer` may not log in at `now`, or None when they may."""
        if self.engineers and engineer not in self.engineers:
            who = engineer or "an unnamed engineer"
            refused = f"{who} is not among the engineers allowed in"
            return Refusal(f"{refused} ({', '.join(self.engineers)})", refused)
        if self.not_before is not None and now < self.not_before:
            # The engineer needs the opening time to come back; not when the window closes.
            early = f"support is allowed in only from {stamp(self.not_before)}"
            return Refusal(early, early)
        if self.not_after is not None and now > self.not_after:
            return Refusal(
                f"support was allowed in only until {stamp(self.not_after)}",
                "the time allowed for support is over",
            )
        return None

    def describe(self) -> str:
        """One line for the dashboard and `rac status`."""
        if not self.any:
            return "any engineer with a valid certificate, any time"
        parts = []
        if self.engineers:
            parts.append("only " + ", ".join(self.engineers))
        if self.not_before is not None:
            parts.append(f"from {stamp(self.not_before)}")
        if self.not_after is not None:
            parts.append(f"until {stamp(self.not_after)}")
        return " ".join(parts)

    def to_json(self) -> dict[str, object]:
        """The journal and audit form."""
        return {
            "engineers": list(self.engineers),
            "not_before": self.not_before,
            "not_after": self.not_after,
        }

    @classmethod
    def from_json(cls, data: object) -> SessionRestrictions:
        """Read back what `to_json` wrote (anything else: no restriction)."""
        if not isinstance(data, dict):
            return cls()
        engineers = tuple(str(e) for e in data.get("engineers") or ())
        before, after = data.get("not_before"), data.get("not_after")
        return cls(
            engineers,
            float(before) if before is not None else None,
            float(after) if after is not None else None,
        )


def stamp(ts: float) -> str:
    """`2026-11-30 14:00 UTC`: a window bound as the engineer and the operator read it."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def parse_time(value: str, field: str) -> float:
    """`2026-11-30 14:00` (UTC), `2026-11-30T14:00`, or a date; UsageError names `field`."""
    text = value.strip().removesuffix("Z").removesuffix("UTC").strip()
    for form in _FORMATS:
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise UsageError(f"{field} {value!r}: write a UTC time as YYYY-MM-DD HH:MM (or YYYY-MM-DD).")


def parse_engineers(values: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    """Names separated by commas or spaces, each as in the certificate's key ID."""
    if isinstance(values, str):
        values = [values]
    names: list[str] = []
    for value in values:
        for name in value.replace(",", " ").split():
            if not all(c.isprintable() for c in name):
                raise UsageError(f"engineer name {name!r}: only printable characters.")
            if name not in names:
                names.append(name)
    return tuple(names)


def build_restrictions(
    engineers: list[str] | tuple[str, ...] | str = (),
    not_before: str | None = None,
    not_after: str | None = None,
) -> SessionRestrictions:
    """Checked restrictions from what an operator typed; a window must not end before it opens."""
    before = parse_time(not_before, "--not-before") if not_before else None
    after = parse_time(not_after, "--not-after") if not_after else None
    if before is not None and after is not None and after <= before:
        raise UsageError(
            f"--not-after ({stamp(after)}) must be later than --not-before ({stamp(before)})."
        )
    return SessionRestrictions(parse_engineers(engineers), before, after)
