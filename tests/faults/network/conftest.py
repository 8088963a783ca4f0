"""Fault tests: the lab with short keepalive settings, and an agent that reaches the relay
only through a chaos proxy (the path under test)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.chaos_proxy import ChaosProxy
from tests.conftest import LAB_C, RunningLab
from tui.engine.lab.lab import Lab

# Seconds: short, so a silent peer is found in ~2 s instead of the default 20 s.
KEEPALIVE = {"keepalive_interval": 1.0, "keepalive_timeout": 2.0}
RELAY_KEEPALIVE = {"agent_keepalive_interval": 1.0, "agent_keepalive_timeout": 2.0}


@pytest.fixture
def relay_settings() -> dict[str, Any]:
    """Relay config for the lab of one test (a test overrides this fixture to change it)."""
    return dict(RELAY_KEEPALIVE)


@pytest.fixture
async def lab(tmp_path: Path, relay_settings: dict[str, Any]) -> AsyncIterator[RunningLab]:
    """The built-in lab, its relay with the settings above."""
    running = Lab(tmp_path / "lab", relay_settings=relay_settings)
    info = await running.start()
    try:
        yield RunningLab(running, info)
    finally:
        await running.close()


@pytest.fixture
async def proxy(lab: RunningLab) -> AsyncIterator[ChaosProxy]:
    """A chaos proxy in front of the relay's port 25 (the lab appliances' default port)."""
    async with ChaosProxy(lab.info.relay_ports["25"]) as chaos:
        yield chaos


@pytest.fixture
def via_proxy(lab: RunningLab, proxy: ChaosProxy) -> Callable[..., Path]:
    """An inventory whose port 25 is the proxy, with short keepalive settings."""

    def inventory(**relay: Any) -> Path:
        ports = {**lab.info.relay_ports, "25": proxy.port}
        return lab.inventory_with(
            **{"port_map": ports, "connect_timeout": 1.0, **KEEPALIVE, **relay}
        )

    return inventory


def relay_audit(lab: RunningLab) -> list[dict[str, Any]]:
    """Every line the relay's audit log holds."""
    path = lab.info.directory / "relay" / "relay-audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def route_of(lab: RunningLab, serial: str) -> object:
    """The relay's live route for `serial`, or None."""
    relay = lab.lab.relay
    assert relay is not None
    return relay.routes.get(serial)


__all__ = ["KEEPALIVE", "LAB_C", "relay_audit", "route_of"]
