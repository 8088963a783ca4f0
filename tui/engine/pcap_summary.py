"""Read back a capture file and say what it holds: packets, the first SYN, an SSH banner.

A small reader of the classic pcap format for the link types tcpdump writes on Linux
(`any` → LINUX_SLL2 or LINUX_SLL, Ethernet, loopback/null, raw IP).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from pathlib import Path

_MAGIC = {
    b"\xd4\xc3\xb2\xa1": "<",
    b"\xa1\xb2\xc3\xd4": ">",
    b"\x4d\x3c\xb2\xa1": "<",
    b"\xa1\xb2\x3c\x4d": ">",
}
_LINK_HEADER = {1: 14, 0: 4, 108: 4, 101: 0, 12: 0, 113: 16, 276: 20}
_SYN, _ACK = 0x02, 0x10


@dataclass(frozen=True, slots=True)
class Segment:
    """One TCP segment from the file."""

    source: str
    source_port: int
    destination: str
    destination_port: int
    flags: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class CaptureSummary:
    """What the operator wants to know about a capture."""

    packets: int
    first_syn: Segment | None
    banner: str
    segments: tuple[Segment, ...]

    @property
    def syn_answered(self) -> bool:
        """A SYN-ACK came back for the first SYN."""
        syn = self.first_syn
        return syn is not None and any(
            s.flags & _SYN and s.flags & _ACK and s.source_port == syn.destination_port
            for s in self.segments
        )


def summarize(path: Path, port: int) -> CaptureSummary:
    """Packets in `path`, the first SYN towards `port`, and the first SSH banner from it."""
    data = path.read_bytes()
    records = _records(data)
    segments = _segments(records)
    first_syn = next(
        (
            s
            for s in segments
            if s.flags & _SYN and not s.flags & _ACK and s.destination_port == port
        ),
        None,
    )
    banner = ""
    for segment in segments:
        if segment.source_port == port and segment.payload.startswith(b"SSH-"):
            banner = segment.payload.split(b"\r\n", 1)[0].decode("ascii", "replace")
            break
    return CaptureSummary(len(records), first_syn, banner, tuple(segments))


def _records(data: bytes) -> list[tuple[int, bytes]]:
    if len(data) < 24 or data[:4] not in _MAGIC:
        raise ValueError("not a pcap file")
    order = _MAGIC[data[:4]]
    link = struct.unpack(order + "I", data[20:24])[0]
    records = []
    offset = 24
    while offset + 16 <= len(data):
        included = struct.unpack(order + "I", data[offset + 8 : offset + 12])[0]
        records.append((link, data[offset + 16 : offset + 16 + included]))
        offset += 16 + included
    return records


def _segments(records: list[tuple[int, bytes]]) -> list[Segment]:
    found = []
    for link, frame in records:
        skip = _LINK_HEADER.get(link)
        if skip is None:
            continue
        segment = _tcp(frame[skip:])
        if segment is not None:
            found.append(segment)
    return found


def _tcp(packet: bytes) -> Segment | None:
    if not packet:
        return None
    version = packet[0] >> 4
    if version == 4 and len(packet) >= 20:
        header = (packet[0] & 0x0F) * 4
        if packet[9] != 6:
            return None
        source = ".".join(str(b) for b in packet[12:16])
        destination = ".".join(str(b) for b in packet[16:20])
        total = struct.unpack("!H", packet[2:4])[0]
        body = packet[header:total] if total else packet[header:]
    elif version == 6 and len(packet) >= 40:
        if packet[6] != 6:
            return None
        source = _ipv6(packet[8:24])
        destination = _ipv6(packet[24:40])
        body = packet[40 : 40 + struct.unpack("!H", packet[4:6])[0]]
    else:
        return None
    if len(body) < 20:
        return None
    source_port, destination_port = struct.unpack("!HH", body[:4])
    offset = (body[12] >> 4) * 4
    return Segment(source, source_port, destination, destination_port, body[13], body[offset:])


def _ipv6(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(raw))
