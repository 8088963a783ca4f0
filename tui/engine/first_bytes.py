"""What the far side of a port says first, classified: the one classifier for probe and agent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Speaker(StrEnum):
    """Who answered, judged from the first bytes."""

    SSH = "ssh"
    SMTP = "smtp"
    HTTP = "http"
    TLS = "tls"
    CLOSED = "closed"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class FirstWords:
    """The class of the answer and its first line, escaped so it is always safe to print."""

    speaker: Speaker
    shown: str


_SMTP = re.compile(rb"^(220|421|554)[ -]")
_HTTP = re.compile(rb"^HTTP/\d")
_TLS_CONTENT_TYPES = frozenset({0x14, 0x15, 0x16, 0x17})
SHOWN_LIMIT = 80
_PLAIN = re.compile(rb"[\x20-\x5b\x5d-\x7e]*")
"""Printable ASCII but the backslash: shown as it is."""


def classify_first_bytes(data: bytes) -> FirstWords:
    """Classify the first bytes a server sent; never raises, whatever the bytes."""
    if not data:
        return FirstWords(Speaker.CLOSED, "")
    shown = printable(first_line(data))
    if data.startswith(b"SSH-") or (len(data) < 4 and b"SSH-".startswith(data)):
        return FirstWords(Speaker.SSH, shown)
    if _SMTP.match(data):
        return FirstWords(Speaker.SMTP, shown)
    if _HTTP.match(data):
        return FirstWords(Speaker.HTTP, shown)
    if len(data) >= 3 and data[0] in _TLS_CONTENT_TYPES and data[1] == 0x03 and data[2] <= 0x04:
        return FirstWords(Speaker.TLS, printable(data[:16]))
    return FirstWords(Speaker.OTHER, shown)


def first_line(data: bytes) -> bytes:
    """Up to the first line end, at most SHOWN_LIMIT bytes."""
    return data.split(b"\n", 1)[0].rstrip(b"\r")[:SHOWN_LIMIT]


def printable(data: bytes) -> str:
    """Printable ASCII kept; everything else as \\xNN, so a terminal can't be driven by it."""
    if _PLAIN.fullmatch(data):  # the usual banner: nothing to escape, no loop per byte
        return data.decode("ascii")
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}" for b in data)
