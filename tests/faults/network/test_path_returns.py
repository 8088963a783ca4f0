"""A reset is named `reset`; after a DNS outage, a half-close or a relay restart storm the
tunnel is back within seconds of the path, not after its backoff."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.chaos_proxy import ChaosProxy
from tests.conftest import LAB_C, EngineFactory, RunningLab
from tests.faults.network.waiting import until
from tests.recorder import EventRecorder
from tui.engine.lab.dns_responder import DnsFault, DnsResponder
from tui.engine.lab.lab_fleet import relay_names
from tui.engine.reasons import Reason
from tui.engine.states import Mode, TunnelState

BACK_WITHIN = 5.0


async def test_a_reset_is_named_reset_and_the_tunnel_comes_back(
    make_engine: EngineFactory, proxy: ChaosProxy, via_proxy: Callable[..., Path]
) -> None:
    engine, events = await make_engine(via_proxy())
    await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    mark = events.mark

    proxy.cut()

    lost = await events.wait_state(LAB_C, TunnelState.RETRYING, after=mark)
    assert lost.reason == Reason.RESET
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED, after=mark)


async def test_a_half_closed_path_is_noticed_and_reconnected(
    make_engine: EngineFactory, proxy: ChaosProxy, via_proxy: Callable[..., Path]
) -> None:
    engine, events = await make_engine(via_proxy())
    await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    mark = events.mark

    proxy.half_close()

    lost = await events.wait_state(LAB_C, TunnelState.RETRYING, after=mark)
    assert lost.reason == Reason.CONNECTION_LOST
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED, after=mark)


async def test_back_within_seconds_after_a_dns_outage_ends(
    lab: RunningLab, make_engine: EngineFactory, proxy: ChaosProxy, via_proxy: Callable[..., Path]
) -> None:
    # A name server of our own, TTL 0, so that every lookup asks it.
    dns = DnsResponder({name: ["127.0.0.1"] for name in relay_names(lab.info.domain)}, ttl=0)
    nameserver = await dns.start()
    try:
        engine, events = await make_engine(
            via_proxy(nameservers=[nameserver]), first_retry_delay=30.0
        )
        await engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        mark = events.mark
        dropped: list[bytes] = []
        answer = dns.answer

        def counting(wire: bytes) -> bytes | None:
            reply = answer(wire)
            if reply is None:
                dropped.append(wire)
            return reply

        dns.answer = counting  # type: ignore[method-assign]
        dns.faults = {name: DnsFault.DROP for name in dns.zone}
        proxy.cut()
        retrying = await events.wait_state(LAB_C, TunnelState.RETRYING, after=mark)
        assert retrying.retry_at is not None and retrying.retry_at - retrying.ts >= 24
        # The agent looks for the relay while it waits: its lookups meet the outage …
        await until(lambda: len(dropped) >= 2, 10, "lookups during the DNS outage")
        mark = events.mark
        restored = time.monotonic()
        dns.faults = {}
        # … and it is back within seconds of DNS answering again, not after its backoff.
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED, after=mark, timeout=30)
        assert time.monotonic() - restored <= BACK_WITHIN
    finally:
        dns.close()


async def test_every_appliance_back_within_seconds_of_the_last_relay_restart(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    engine, events = await make_engine()
    tunnels = [s.name for s in engine.statuses() if s.mode is Mode.TUNNEL]
    for name in tunnels:
        await engine.enable(name)
    for name in tunnels:
        await events.wait_state(name, TunnelState.ESTABLISHED)

    for _ in range(6):  # restarts back to back, some agents caught mid-handshake
        await lab.lab.restart_relay()
        await _some_reconnected(events, tunnels)
    mark = events.mark
    last = time.monotonic()
    await lab.lab.restart_relay()

    for name in tunnels:
        await events.wait_state(name, TunnelState.ESTABLISHED, after=mark, timeout=30)
    assert time.monotonic() - last <= BACK_WITHIN
    relay = lab.lab.relay
    assert relay is not None
    assert len(relay.routes.serials()) == len(tunnels)


async def _some_reconnected(events: EventRecorder, names: list[str]) -> None:
    mark = events.mark
    await events.wait_for(
        lambda e: getattr(e, "state", None) is TunnelState.HANDSHAKE, after=mark, timeout=10
    )
