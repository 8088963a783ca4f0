"""Agents share DNS lookups of one name; one of them stopping (an agent disabled, a
reachability check ended) must not take the others' lookups with it."""

from __future__ import annotations

import asyncio

from tui.engine import resolver
from tui.engine.lab.dns_responder import DnsFault, DnsResponder

NAME = "c.tunnels.rac.test"


async def test_a_lookup_whose_owner_is_cancelled_is_asked_again_by_those_who_joined_it() -> None:
    dns = DnsResponder({NAME: ["127.0.0.1"]}, {NAME: DnsFault.DROP}, ttl=0)
    nameserver = await dns.start()
    try:
        owner = asyncio.create_task(resolver.resolve(NAME, [nameserver], timeout=5, shared=True))
        await asyncio.sleep(0)  # the owner's query is in flight
        joined = asyncio.create_task(resolver.resolve(NAME, [nameserver], timeout=5, shared=True))
        await asyncio.sleep(0)  # … and the second lookup has joined it
        owner.cancel()
        dns.faults = {}
        answer = await asyncio.wait_for(joined, 10)
    finally:
        dns.close()
    assert owner.cancelled()
    assert answer.addresses == ["127.0.0.1"]
