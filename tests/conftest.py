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
from textual.app import App

from tests.console_support import (
    CONSOLE_SIZE,
    EnabledConsole,
    enable_first_row,
    lab_app,
    recorder_for,
)
from tests.lab_names import LAB_C, LAB_C_SERIAL, LAB_LAN, LAB_LAN_SERIAL
from tests.recorder import EventRecorder
from tui.engine.engine import Engine
from tui.engine.inventory import Inventory, load_inventory
from tui.engine.lab.lab import Lab, LabInfo
from tui.engine.states import TunnelState
from tui.engine.toml_source import read_toml

# Screens show local times: pin the zone so snapshots read the same on every machine.
os.environ["TZ"] = "UTC"
time.tzset()

__all__ = ["LAB_C", "LAB_C_SERIAL", "LAB_LAN", "LAB_LAN_SERIAL"]  # importable from here too


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

    def inventory_with_appliances(
        self, appliances: list[dict[str, Any]], name: str = "fleet.toml", **relay: Any
    ) -> Path:
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

    async def build(
        inventory: Path | Inventory | None = None, *, state_dir: Path | None = None, **options: Any
    ) -> tuple[Engine, EventRecorder]:
        loaded = (
            inventory
            if isinstance(inventory, Inventory)
            else load_inventory(inventory or lab.info.inventory)
        )
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
    return bool(
        shutil.which("ssh")
        and shutil.which("ssh-keygen")
        and (shutil.which("sshd") or Path("/usr/sbin/sshd").exists())
    )


def require_openssh() -> None:
    """Skip outside CI when OpenSSH is missing; in CI (RAC_REQUIRE_OPENSSH=1) fail instead."""
    if openssh_available():
        return
    if os.environ.get("RAC_REQUIRE_OPENSSH") == "1":
        pytest.fail("OpenSSH (ssh, sshd, ssh-keygen) is required here but not installed")
    pytest.skip("OpenSSH is not installed")


@dataclass
class Established:
    """An engine on the lab with LAB_C enabled and its tunnel ESTABLISHED."""

    engine: Engine
    events: EventRecorder
    seed: str
    name: str = LAB_C
    serial: str = LAB_C_SERIAL


@pytest.fixture
async def established(make_engine: EngineFactory) -> Established:
    """LAB_C enabled on a fresh engine, up through the lab relay."""
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    return Established(engine, events, seed)


@pytest.fixture
async def enabled_console(tmp_path: Path) -> AsyncIterator[EnabledConsole]:
    """The console (Pilot, real clock) on a fresh lab, LAB_C enabled from the fleet and up."""
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=CONSOLE_SIZE) as pilot:
        events = recorder_for(app)
        seed = await enable_first_row(pilot, events)
        yield EnabledConsole(app, pilot, events, seed)


@pytest.fixture
def notices(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every notification the console raised during the test, in order (the toasts the
    operator saw, whatever their timeout)."""
    seen: list[str] = []
    notify = App.notify

    def recording(app: App[Any], message: str, *args: Any, **kwargs: Any) -> None:
        seen.append(str(message))
        notify(app, message, *args, **kwargs)

    monkeypatch.setattr(App, "notify", recording)
    return seen
