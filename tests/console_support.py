"""Helpers for driving the console against the real lab: build it, wait on engine events."""

from __future__ import annotations

import random
from pathlib import Path

from textual.pilot import Pilot

from tests.recorder import EventRecorder
from tui.app import RacApp
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
