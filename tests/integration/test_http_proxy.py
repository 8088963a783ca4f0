"""Agents behind an HTTP CONNECT proxy: through it, refused by it, asked for credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EngineFactory, RunningLab
from tests.engineer import login
from tests.fault_servers import connect_proxy
from tests.lab_names import LAB_C, LAB_C_RELAY, LAB_C_SERIAL
from tui.engine.errors import ConfigError
from tui.engine.http_proxy import parse_proxy_url
from tui.engine.inventory import load_inventory
from tui.engine.reasons import Reason
from tui.engine.states import TunnelState

RELAY_NAME = LAB_C_RELAY


async def test_tunnel_and_support_session_through_the_proxy(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    async with connect_proxy({RELAY_NAME: "127.0.0.1"}) as proxy:
        engine, events = await make_engine(
            lab.inventory_with(proxy=f"http://127.0.0.1:{proxy.port}")
        )
        seed = await engine.enable(LAB_C)
        up = await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        assert up.address == f"proxy 127.0.0.1:{proxy.port}"
        assert proxy.requests == [f"{RELAY_NAME}:{lab.info.relay_ports['25']}"]
        relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
        assert "ENABLED" in str((await appliance.run("status")).stdout)
        appliance.close()
        relay.close()


async def test_a_proxy_that_refuses_the_port_is_named(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    async with connect_proxy(
        {RELAY_NAME: "127.0.0.1"}, deny_ports=(lab.info.relay_ports["25"],)
    ) as proxy:
        engine, events = await make_engine(
            lab.inventory_with(proxy=f"http://127.0.0.1:{proxy.port}")
        )
        await engine.enable(LAB_C)
        retrying = await events.wait_state(LAB_C, TunnelState.RETRYING)
    assert retrying.reason == Reason.PROXY_REFUSED
    assert "refused to connect to c.tunnels.rac.test on port 25" in retrying.detail


async def test_a_proxy_refusal_moves_on_with_fallback(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    async with connect_proxy(
        {RELAY_NAME: "127.0.0.1"},
        deny_ports=(lab.info.relay_ports["25"], lab.info.relay_ports["53"]),
    ) as proxy:
        engine, events = await make_engine(
            lab.inventory_with(proxy=f"http://127.0.0.1:{proxy.port}", fallback=True)
        )
        await engine.enable(LAB_C)
        up = await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    assert up.port == 80


async def test_proxy_credentials(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    async with connect_proxy({RELAY_NAME: "127.0.0.1"}, credentials="ops:s3cret") as proxy:
        engine, events = await make_engine(
            lab.inventory_with("without.toml", proxy=f"http://127.0.0.1:{proxy.port}"),
            state_dir=tmp_path / "a",
        )
        await engine.enable(LAB_C)
        asked = await events.wait_state(LAB_C, TunnelState.RETRYING)
        assert asked.reason == Reason.PROXY_AUTH
        await engine.shutdown()

        engine, events = await make_engine(
            lab.inventory_with("with.toml", proxy=f"http://ops:s3cret@127.0.0.1:{proxy.port}"),
            state_dir=tmp_path / "b",
        )
        await engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    assert "s3cret" not in repr(parse_proxy_url(f"http://ops:s3cret@127.0.0.1:{proxy.port}"))


def test_a_bad_proxy_url_is_located(lab: RunningLab) -> None:
    with pytest.raises(ConfigError, match=r"field relay.proxy: .*http://HOST:PORT"):
        load_inventory(lab.inventory_with(proxy="socks5://127.0.0.1:1080"))


async def test_the_probe_goes_through_the_proxy_too(lab: RunningLab) -> None:
    from tui.engine.port_check import Outcome
    from tui.engine.probe import probe_target_for, run_probe

    async with connect_proxy(
        {RELAY_NAME: "127.0.0.1"}, deny_ports=(lab.info.relay_ports["25"],)
    ) as proxy:
        inventory = load_inventory(lab.inventory_with(proxy=f"http://127.0.0.1:{proxy.port}"))
        target = probe_target_for(inventory, inventory.get(LAB_C), timeout=2.0)
        report = await run_probe(target)
    outcomes = {p.port: p.outcome for p in report.ports}
    assert outcomes[25] is Outcome.PROXY_REFUSED
    assert {outcomes[p] for p in (22, 53, 80, 443, 4766)} == {Outcome.SSH}
    assert report.ports[1].says == "HTTP/1.1 403 Forbidden"
    assert report.recommended.port == 443  # the firewall-friendly order: 443 first
    assert report.recommended.why.startswith("Port 25 is refused by the HTTP proxy")
    assert report.dns.host == "127.0.0.1"
