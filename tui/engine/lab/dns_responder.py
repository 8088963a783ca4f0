"""A small authoritative DNS server built on dnspython, for the lab and the tests (loopback)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import cast

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

DEFAULT_TTL = 60


class DnsFault(StrEnum):
    """A deliberate failure for a name, to test how resolution failures are named."""

    NXDOMAIN = "nxdomain"
    SERVFAIL = "servfail"
    DROP = "drop"
    EMPTY = "empty"


def _key(name: str) -> str:
    return name.lower().rstrip(".") + "."


class DnsResponder:
    """Answers A/AAAA for the names it holds, NXDOMAIN for others, faults on request."""

    def __init__(
        self,
        zone: Mapping[str, Sequence[str]],
        faults: Mapping[str, DnsFault] | None = None,
        *,
        ttl: int = DEFAULT_TTL,
    ) -> None:
        self.zone = {_key(name): list(addresses) for name, addresses in zone.items()}
        self.faults = {_key(name): fault for name, fault in (faults or {}).items()}
        self.ttl = ttl
        self._transport: asyncio.DatagramTransport | None = None
        self.address = ("", 0)

    @property
    def nameserver(self) -> str:
        """`ip:port`, as an inventory lists it."""
        return f"{self.address[0]}:{self.address[1]}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on UDP host:port (0: a free port); returns `ip:port`."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(host, port)
        )
        self._transport = transport
        self.address = transport.get_extra_info("sockname")[:2]
        return self.nameserver

    def close(self) -> None:
        """Stop answering."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def answer(self, wire: bytes) -> bytes | None:
        """The response to one query, or None to stay silent (a dropped query)."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 — garbage on the port is ignored, as servers do
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        name = _key(question.name.to_text())
        fault = self.faults.get(name)
        if fault is DnsFault.DROP:
            return None
        if fault is DnsFault.SERVFAIL:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif fault is DnsFault.NXDOMAIN or (fault is None and name not in self.zone):
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif fault is None:
            wanted = [a for a in self.zone[name] if _rdtype_of(a) == question.rdtype]
            if wanted:
                response.answer.append(
                    dns.rrset.from_text_list(
                        question.name, self.ttl, dns.rdataclass.IN, question.rdtype, wanted
                    )
                )
        return response.to_wire()


def _rdtype_of(address: str) -> dns.rdatatype.RdataType:
    return dns.rdatatype.A if ipaddress.ip_address(address).version == 4 else dns.rdatatype.AAAA


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, responder: DnsResponder) -> None:
        self._responder = responder
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast("asyncio.DatagramTransport", transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        reply = self._responder.answer(data)
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)
