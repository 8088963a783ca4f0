"""Helpers for driving the console against the real lab: build it, wait on engine events."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tomli_w
from textual.pilot import Pilot

from tests.fault_servers import closed_port, fault_server, stalling_ssh_server
from tests.lab_names import LAB_C
from tests.recorder import EventRecorder
from tui.app import RacApp
from tui.engine.engine import Engine
from tui.engine.inventory import load_inventory
from tui.engine.secure_files import write_private
from tui.engine.states import TunnelState
from tui.engine.toml_source import read_toml
from tui.environment import EngineOptions, LabEnvironment
from tui.settings import Settings

FROZEN_NOW = 1_796_040_000.0  # 2026-11-30 12:00:00 UTC


def seeded_options(*, frozen: bool = True, first_retry_delay: float = 30.0) -> EngineOptions:
    """Deterministic engine: fixed clock, seeded randomness, slow retries (no races)."""
    chooser = random.Random(2026)
    defaults = EngineOptions()
    return EngineOptions(
        clock=(lambda: FROZEN_NOW) if frozen else defaults.clock,
        rng=random.Random(7),
        choose=chooser.choice,
        first_retry_delay=first_retry_delay,
        timer=(lambda: 0.0) if frozen else defaults.timer,
    )


def lab_app(
    directory: Path,
    *,
    theme: str | None = None,
    frozen: bool = True,
    settings_path: Path | None = None,
) -> RacApp:
    """The console on a fresh lab in `directory`."""
    return RacApp(
        LabEnvironment(directory),
        options=seeded_options(frozen=frozen),
        settings=Settings(settings_path),
        theme=theme,
        blink=False,
    )


CONSOLE_SIZE = (140, 40)


@dataclass
class EnabledConsole:
    """The console on a fresh lab with LAB_C enabled from the fleet and ESTABLISHED."""

    app: RacApp
    pilot: Pilot[None]
    events: EventRecorder
    seed: str


async def enable_first_row(pilot: Pilot[None], events: EventRecorder) -> str:
    """Enable the selected (first) fleet row with the dialogue's defaults; wait until up."""
    from widgets.enable_dialog import EnableDialog

    await pilot.press("e")
    assert isinstance(pilot.app.screen, EnableDialog)
    await pilot.press("tab", "tab", "tab", "enter")  # mode → seed → port → Enable
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, RacApp)
    return str(app.engine.seed(LAB_C))


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


# What snapshots show must not change from run to run: the relay key's fingerprint (a fixed
# test key) and the lab resolver's address. The resolver listens on a free port, and the
# pictures show it as this one (`mask_lab_dns`), so snapshot tests can run in parallel.
SNAPSHOT_RELAY_KEY = Path(__file__).with_name("keys") / "snapshot_relay_host_ed25519"
SNAPSHOT_DNS_PORT = 15353
STALL = "stall-"
STALLED_HANDSHAKE = 1.0


class SnapshotLab(LabEnvironment):
    """A fresh lab in `directory` with a fixed relay key, and middleboxes on some ports.

    Put it in the default lab directory (`XDG_STATE_HOME` pointed at a temporary directory)
    and the support hints read as for any operator's lab, with no path that changes per run.
    `faults` maps a nominal relay port to what answers there instead of the relay: "smtp",
    "http", "tls", "reset", "closed" (fault servers), "refused" (nothing listening), or
    "stall-kex", "stall-auth", "stall-forward" (an SSH server with the relay's key that stops
    answering there; the handshake budget is then STALLED_HANDSHAKE seconds).
    """

    def __init__(
        self, directory: Path, *, faults: dict[int, str] | None = None, held: bool = False
    ) -> None:
        write_private(directory / "relay" / "relay_host_ed25519", SNAPSHOT_RELAY_KEY.read_bytes())
        super().__init__(directory)
        self._faults = faults or {}
        self._stack = contextlib.AsyncExitStack()
        self.cleanups: list[Callable[[], object]] = []
        self.release = asyncio.Event()
        """With `held`, the lab starts only once this is set: the console stays "starting…"."""
        if not held:
            self.release.set()

    async def start(self, options: EngineOptions) -> Engine:
        await self.release.wait()
        if not self._faults:
            return await super().start(options)
        self.info = await self.lab.start()
        data, _ = read_toml(self.info.inventory)
        for nominal, kind in self._faults.items():
            data["relay"]["port_map"][str(nominal)] = await self._stack.enter_async_context(
                self._fault(kind)
            )
            if kind.startswith(STALL):  # the floor of the handshake budget, not 10 s
                data["relay"]["handshake_timeout"] = STALLED_HANDSHAKE
        inventory = self.info.directory / "middleboxes.toml"
        inventory.write_text(tomli_w.dumps(data), encoding="utf-8")
        self.engine = options.build(load_inventory(inventory), self.info.state_dir)
        await self.engine.start()
        return self.engine

    def _fault(self, kind: str) -> contextlib.AbstractAsyncContextManager[int]:
        if kind == "refused":
            return closed_port()
        if kind.startswith(STALL):
            relay = self.lab.relay
            assert relay is not None
            return stalling_ssh_server(relay.host_key, kind.removeprefix(STALL))
        return fault_server(kind)

    async def close(self) -> None:
        for cleanup in self.cleanups:
            cleanup()
        await super().close()
        await self._stack.aclose()


def mask_lab_dns(svg: str, environment: SnapshotLab) -> str:
    """The picture as if the lab resolver listened on SNAPSHOT_DNS_PORT (same width, so the
    layout is the one the operator saw)."""
    info = environment.info
    if info is None:
        return svg
    host, _, port = info.dns.rpartition(":")
    assert len(port) == len(str(SNAPSHOT_DNS_PORT)), f"lab DNS port {port}: not 5 digits"
    return svg.replace(info.dns, f"{host}:{SNAPSHOT_DNS_PORT}")


def snapshot_app(environment: SnapshotLab, *, theme: str | None = None) -> RacApp:
    """The console as the snapshots see it: frozen clock, seeded seeds, no blink."""
    return RacApp(
        environment, options=seeded_options(), settings=Settings(None), theme=theme, blink=False
    )
