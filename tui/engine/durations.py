"""Human durations (`7d`, `72h`, `90m`, `30s`) for access lifetimes and their display."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_SECONDS = 90 * 86400
"""The longest access lifetime (90 days): access left open for ever is access forgotten."""
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(value: str | int | float) -> float:
    """Seconds in `value` (at most 90 days); raises ValueError with the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(
            f"{value!r} is not a duration: use a number with s, m, h or d, such as 7d or 72h"
        )
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(value)
        if not match:
            raise ValueError(
                f"{value!r} is not a duration: use a number with s, m, h or d, such as 7d or 72h"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not seconds > 0:  # also NaN
        raise ValueError("a duration must be longer than zero")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{_shown(value)} is longer than the maximum of 90 days (90d)")
    return seconds


def _shown(value: str | int | float) -> str:
    text = str(value).strip()
    return text if len(text) <= 24 else text[:21] + "..."


def format_duration(seconds: float) -> str:
    """`612000` → `7d 02h`; the two largest units, for countdowns."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
