"""Fixtures: a real lab on loopback, engines on it, and an engineer that logs in for real."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.recorder import EventRecorder
from tui.engine.engine import Engine
from tui.engine.inventory import Inventory, load_inventory
from tui.engine.lab.lab import Lab, LabInfo
from tui.engine.toml_source import read_toml

# Screens show local times: pin the zone so snapshots read the same on every machine.
os.environ["TZ"] = "UTC"
time.tzset()

LAB_C = "mail-gw-1"
LAB_C_SERIAL = "0C4A1D8E2F61-FCH2143V0AB"
LAB_LAN = "mgmt-lan"
LAB_LAN_SERIAL = "0C4A1D8E5B13-FCH2205V1QP"


@dataclass
class RunningLab:
    """A started lab and the handle to restart its relay."""

    lab: Lab
    info: LabInfo

    def inventory_with(self, name: str = "custom.toml", **relay: Any) -> Path:
        """A copy of the lab inventory (next to it) with some relay settings replaced."""
        data, _ = read_toml(self.info.inventory)
        data["relay"].update(relay)
        path = self.info.directory / name
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
        return path

    def inventory_with_appliances(self, appliances: list[dict[str, Any]],
                                  name: str = "fleet.toml", **relay: Any) -> Path:
        """A lab inventory with extra appliances appended."""
        data, _ = read_toml(self.info.inventory)
        data["relay"].update(relay)
        data["appliance"] = [*data["appliance"], *appliances]
        path = self.info.directory / name
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
        return path


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[RunningLab]:
    """The built-in lab in a temporary directory."""
    running = Lab(tmp_path / "lab")
    info = await running.start()
    try:
        yield RunningLab(running, info)
    finally:
        await running.close()


EngineFactory = Callable[..., Any]


@pytest.fixture
async def make_engine(lab: RunningLab, tmp_path: Path) -> AsyncIterator[EngineFactory]:
    """Build engines on the lab (or another inventory); all are shut down at the end."""
    engines: list[Engine] = []

    async def build(inventory: Path | Inventory | None = None, *,
                    state_dir: Path | None = None,
                    **options: Any) -> tuple[Engine, EventRecorder]:
        loaded = inventory if isinstance(inventory, Inventory) else load_inventory(
            inventory or lab.info.inventory)
        engine = Engine(loaded, state_dir or tmp_path / "state", **options)
        recorder = EventRecorder()
        engine.subscribe(recorder)
        engines.append(engine)
        await engine.start()
        return engine, recorder

    try:
        yield build
    finally:
        for engine in engines:
            with contextlib.suppress(Exception):
                await engine.shutdown()


def openssh_available() -> bool:
    """Both OpenSSH client and server are installed."""
    return bool(shutil.which("ssh") and shutil.which("ssh-keygen") and
                (shutil.which("sshd") or Path("/usr/sbin/sshd").exists()))


def require_openssh() -> None:
    """Skip outside CI when OpenSSH is missing; in CI (RAC_REQUIRE_OPENSSH=1) fail instead."""
    if openssh_available():
        return
    if os.environ.get("RAC_REQUIRE_OPENSSH") == "1":
        pytest.fail("OpenSSH (ssh, sshd, ssh-keygen) is required here but not installed")
    pytest.skip("OpenSSH is not installed")
