"""Helpers for driving the console against the real lab: build it, wait on engine events."""

from __future__ import annotations

import asyncio
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import tomli_w
from textual.pilot import Pilot

from tests.fault_servers import HANDLERS
from tests.recorder import EventRecorder
from tui.app import RacApp
from tui.engine.engine import Engine
from tui.engine.inventory import load_inventory
from tui.engine.toml_source import read_toml
from tui.environment import EngineOptions, LabEnvironment
from tui.settings import Settings

FROZEN_NOW = 1_796_040_000.0  # 2026-11-30 12:00:00 UTC


def seeded_options(*, frozen: bool = True, first_retry_delay: float = 30.0) -> EngineOptions:
    """Deterministic engine: fixed clock, seeded randomness, slow retries (no races)."""
    chooser = random.Random(2026)
    return EngineOptions(clock=(lambda: FROZEN_NOW) if frozen else EngineOptions().clock,
                         rng=random.Random(7), choose=chooser.choice,
                         first_retry_delay=first_retry_delay)


def lab_app(directory: Path, *, theme: str | None = None, frozen: bool = True,
            settings_path: Path | None = None) -> RacApp:
    """The console on a fresh lab in `directory`."""
    return RacApp(LabEnvironment(directory), options=seeded_options(frozen=frozen),
                  settings=Settings(settings_path), theme=theme, blink=False)


def recorder_for(app: RacApp) -> EventRecorder:
    """Record the app engine's events from now on."""
    recorder = EventRecorder()
    app.engine.subscribe(recorder)
    return recorder


async def settle(pilot: Pilot[None]) -> None:
    """Paint what the engine reported so far, then let the screen process it."""
    app = pilot.app
    assert isinstance(app, RacApp)
    app.flush_model()
    await pilot.pause()


SNAPSHOT_LAB = Path("/tmp/rac-snapshot-lab")


class SnapshotLab(LabEnvironment):
    """The lab at a fixed path (paths show on screen), optionally with an SMTP-inspecting
    middlebox answering on port 25 instead of the relay."""

    def __init__(self, *, smtp_on_25: bool = False) -> None:
        shutil.rmtree(SNAPSHOT_LAB, ignore_errors=True)
        super().__init__(SNAPSHOT_LAB)
        self._smtp_on_25 = smtp_on_25
        self._middlebox: asyncio.Server | None = None
        self.cleanups: list[Callable[[], object]] = []

    async def start(self, options: EngineOptions) -> Engine:
        if not self._smtp_on_25:
            return await super().start(options)
        self.info = await self.lab.start()
        self._middlebox = await asyncio.start_server(_smtp_greeter, "127.0.0.1", 0)
        port = self._middlebox.sockets[0].getsockname()[1]
        data, _ = read_toml(self.info.inventory)
        data["relay"]["port_map"]["25"] = port
        inventory = self.info.directory / "middlebox.toml"
        inventory.write_text(tomli_w.dumps(data), encoding="utf-8")
        self.engine = options.build(load_inventory(inventory), self.info.state_dir)
        await self.engine.start()
        return self.engine

    async def close(self) -> None:
        for cleanup in self.cleanups:
            cleanup()
        await super().close()
        if self._middlebox is not None:
            self._middlebox.close()
            await self._middlebox.wait_closed()


async def _smtp_greeter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await HANDLERS["smtp"](reader, writer)  # type: ignore[misc]
    except ConnectionError:
        writer.close()


def snapshot_app(environment: SnapshotLab, *, theme: str | None = None) -> RacApp:
    """The console as the snapshots see it: frozen clock, seeded seeds, no blink."""
    return RacApp(environment, options=seeded_options(), settings=Settings(None), theme=theme,
                  blink=False)
