"""The console's screens and states, each a reproducible scenario on the real lab.

The snapshot tests and `screenshots/make_screenshots.py` both use these, so the README's
pictures are the very screens the tests check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
from textual.pilot import Pilot

from tests.console_support import SnapshotLab, recorder_for, settle, snapshot_app
from tests.engineer import login
from tests.lab_names import LAB_C, LAB_C_SERIAL, LAB_LAN, LAB_M, LAB_X
from tui.app import START_DEADLINE, RacApp
from tui.engine.states import TunnelState

SIZE = (150, 42)
SMTP_ON_25 = {25: "smtp"}
STALLED_LOGIN_ON_25 = {25: "stall-auth"}
MIXED_PORTS = {22: "refused", 25: "smtp", 53: "reset", 80: "http", 4766: "tls"}
Prepare = Callable[[Pilot[None], SnapshotLab], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    """An app to build, what to do before the picture, and the keys to press."""

    prepare: Prepare | None = None
    faults: dict[int, str] = field(default_factory=dict)
    theme: str | None = None
    press: tuple[str, ...] = ()
    size: tuple[int, int] = SIZE
    notes: dict[str, str] = field(default_factory=dict)
    starting: bool = False
    """The first frame, before the lab is up (the lab is held until the picture is taken)."""

    def build(self, directory: Path) -> tuple[RacApp, Callable[[Pilot[None]], Awaitable[None]]]:
        """A fresh app on a lab in `directory`, and the run_before that brings it to this
        scenario's state."""
        env = SnapshotLab(directory, faults=self.faults, held=self.starting)
        app = snapshot_app(env, theme=self.theme)

        async def run_before(pilot: Pilot[None]) -> None:
            if self.starting:
                await pilot.pause()
                assert not app.started.is_set(), "the lab is held: the console is starting"
                return
            async with asyncio.timeout(START_DEADLINE):  # the engine starts after 1st frame
                await app.started.wait()
            await pilot.pause()
            if self.prepare is not None:
                await self.prepare(pilot, env)
            await ready(pilot)

        return app, run_before


async def up(
    app: RacApp, name: str, state: TunnelState = TunnelState.ESTABLISHED, **enable: Any
) -> str:
    """Enable `name` through the engine and wait until it reaches `state`."""
    events = recorder_for(app)
    seed = await app.engine.enable(name, **enable)
    await events.wait_state(name, state)
    return seed


async def support_login(app: RacApp, env: SnapshotLab, serial: str, seed: str) -> None:
    """A real support login as alice, left open until the app closes."""
    assert env.info is not None
    events = recorder_for(app)
    relay, appliance = await login(env.info, env.info.directory, serial, seed, identity="alice")
    await events.wait_for(lambda e: type(e).__name__ == "ServiceStarted")
    env.cleanups += [appliance.close, relay.close]


async def ready(pilot: Pilot[None]) -> None:
    """No toasts, and everything the engine said painted."""
    app = pilot.app
    assert isinstance(app, RacApp)
    app.clear_notifications()
    await settle(pilot)


def _app(pilot: Pilot[None]) -> RacApp:
    assert isinstance(pilot.app, RacApp)
    return pilot.app


async def mixed_fleet(pilot: Pilot[None], env: SnapshotLab) -> None:
    """One in (SERVICE), one up, one via its gateway, one behind an SMTP box, one off."""
    app = _app(pilot)
    seed = await up(app, LAB_C, port=443)
    await support_login(app, env, LAB_C_SERIAL, seed)
    await up(app, LAB_M, port=443)
    await up(app, LAB_LAN, TunnelState.READY)
    await up(app, LAB_X, TunnelState.RETRYING)


async def dashboard_established(pilot: Pilot[None], env: SnapshotLab) -> None:
    """mail-gw-1 up, its dashboard open."""
    app = _app(pilot)
    await up(app, LAB_C)
    await app.open_dashboard(LAB_C)


async def dashboard_in_service(pilot: Pilot[None], env: SnapshotLab) -> None:
    """mail-gw-1 with alice inside, its dashboard open."""
    app = _app(pilot)
    seed = await up(app, LAB_C)
    await support_login(app, env, LAB_C_SERIAL, seed)
    await app.open_dashboard(LAB_C)


async def dashboard_retrying(pilot: Pilot[None], env: SnapshotLab) -> None:
    """mail-gw-1 on port 25, where an SMTP-inspecting box answers."""
    app = _app(pilot)
    await up(app, LAB_C, TunnelState.RETRYING)
    await app.open_dashboard(LAB_C)


async def dashboard_stalled_login(pilot: Pilot[None], env: SnapshotLab) -> None:
    """mail-gw-1 on port 25, where the relay's key exchange works and its login never
    answers: an `ssh-timeout` that fails AUTH on the track."""
    app = _app(pilot)
    await up(app, LAB_C, TunnelState.RETRYING)
    await app.open_dashboard(LAB_C)


async def probe_finished(pilot: Pilot[None], env: SnapshotLab) -> None:
    """The connectivity test of mail-gw-1 with middleboxes on five of its six ports."""
    app = _app(pilot)
    await app.open_probe(LAB_C)
    await app.screen.workers.wait_for_complete()


async def audited_fleet(pilot: Pilot[None], env: SnapshotLab) -> None:
    """Enables, a port change and a disable: what the audit screen lists (no session: its
    source port differs from run to run)."""
    app = _app(pilot)
    await up(app, LAB_C, port=443)
    await up(app, "mgmt-1", port=443)
    await up(app, LAB_LAN, TunnelState.READY)
    await up(app, "mail-gw-x", TunnelState.RETRYING)
    await app.engine.set_port("mgmt-1", 4766)
    await app.engine.disable("mail-gw-x")


async def _until(pilot: Pilot[None], check: Callable[[], bool], what: str) -> None:
    """Let the app run until `check()` holds, bounded (waits on the event, not a guess)."""
    deadline = time.monotonic() + 20
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def _engineer_shell(
    app: RacApp,
    env: SnapshotLab,
    seed: str,
    identity: str,
) -> tuple[asyncssh.SSHClientProcess[str], asyncssh.SSHClientConnection]:
    """A real engineer with a 96×24 terminal, left open until the app closes."""
    assert env.info is not None
    events = recorder_for(app)
    relay, appliance = await login(
        env.info, env.info.directory, LAB_C_SERIAL, seed, identity=identity
    )
    process = await appliance.create_process(term_type="xterm", term_size=(96, 24))
    await events.wait_for(lambda e: type(e).__name__ == "ServiceStarted")
    env.cleanups += [appliance.close, relay.close]
    return process, appliance


async def watch_live(pilot: Pilot[None], env: SnapshotLab) -> None:
    """alice inside mail-gw-1, watched: she typed status and help."""
    from tui.screens.watch_screen import WatchScreen
    from widgets.terminal_view import TerminalView

    app = _app(pilot)
    seed = await up(app, LAB_C)
    process, _ = await _engineer_shell(app, env, seed, "alice")
    session = app.engine.status(LAB_C).sessions[0]
    app.watch_session(LAB_C, session.session_id)
    await _until(pilot, lambda: isinstance(app.screen, WatchScreen), "the watch screen")

    def lines() -> list[str]:
        views = app.screen.query(TerminalView)
        return views.first().text_lines() if views else []

    await _until(pilot, lambda: bool(lines()), "the terminal view")
    process.stdin.write("status\r")
    await _until(pilot, lambda: "Serial number" in "".join(lines()), "the status output")
    process.stdin.write("help\r")
    await _until(
        pilot,
        lambda: (
            "end the session" in "".join(lines())
            and lines()[-1] == ""
            and sum(f"{LAB_C} (SERVICE)>" in line for line in lines()) == 3
        ),
        "the help output",
    )


async def past_sessions(pilot: Pilot[None], env: SnapshotLab) -> None:
    """Two sessions on mail-gw-1: alice's (ended), bob's (ended by the operator)."""
    app = _app(pilot)
    seed = await up(app, LAB_C)
    events = recorder_for(app)
    for identity in ("alice", "bob"):
        process, connection = await _engineer_shell(app, env, seed, identity)
        process.stdin.write("version\r")
        await process.stdout.readuntil("serial " + LAB_C_SERIAL)
        if identity == "bob":
            await app.engine.end_session(LAB_C, app.engine.status(LAB_C).sessions[0].session_id)
        else:
            process.stdin.write("exit\r")
            await process.wait_closed()
            connection.close()

        def ended(event: object, who: str = identity) -> bool:
            return type(event).__name__ == "ServiceEnded" and getattr(event, "engineer", "") == who

        await events.wait_for(ended)
    await app.engine._runtimes[LAB_C].sessions.flush_recordings()
    await app.open_sessions()


async def one_up(pilot: Pilot[None], env: SnapshotLab) -> None:
    """mail-gw-1 up, fleet shown."""
    await up(_app(pilot), LAB_C)


SCENARIOS: dict[str, Scenario] = {
    "fleet_all_disabled": Scenario(),
    "fleet_starting": Scenario(starting=True),
    "fleet_mixed": Scenario(mixed_fleet, faults=SMTP_ON_25),
    "fleet_mixed_light": Scenario(mixed_fleet, faults=SMTP_ON_25, theme="rac-light"),
    "fleet_mixed_contrast": Scenario(mixed_fleet, faults=SMTP_ON_25, theme="rac-contrast"),
    "fleet_narrow": Scenario(mixed_fleet, faults=SMTP_ON_25, size=(60, 20)),
    "dashboard_established": Scenario(dashboard_established),
    "dashboard_service": Scenario(dashboard_in_service),
    "dashboard_retrying_smtp": Scenario(dashboard_retrying, faults=SMTP_ON_25),
    "dashboard_ssh_timeout_at_login": Scenario(dashboard_stalled_login, faults=STALLED_LOGIN_ON_25),
    "dashboard_service_narrow": Scenario(dashboard_in_service, size=(80, 40)),
    "fleet_filter_no_match": Scenario(press=("slash", *"zzz", "enter")),
    "enable_generated_seed": Scenario(press=("e",)),
    "enable_seed_rule_error": Scenario(press=("e", "tab", "down", "enter", *"ab cdefg")),
    "disable_confirmation": Scenario(one_up, press=("d",)),
    "help": Scenario(press=("question_mark",)),
    "probe_mixed_outcomes": Scenario(probe_finished, faults=MIXED_PORTS),
    "watch_live": Scenario(watch_live),
    "sessions_past": Scenario(past_sessions),
    "enable_restricted": Scenario(
        press=(
            "e",
            "tab",
            "tab",
            "tab",
            *"alice bob",
            "tab",
            *"2026-12-01 08:00",
            "tab",
            *"2026-12-01 18:00",
            "tab",
            "ctrl+a",
            "ctrl+k",
            *"48h",
        )
    ),
    "enable_80x24": Scenario(press=("e",), size=(80, 24)),
    "fleet_sorted_marked": Scenario(
        mixed_fleet, faults=SMTP_ON_25, press=("s", "s", "s", "s", "s", "space", "space")
    ),
    "fleet_only_failing": Scenario(mixed_fleet, faults=SMTP_ON_25, press=("3",)),
    "bulk_disable_confirmation": Scenario(mixed_fleet, faults=SMTP_ON_25, press=("asterisk", "d")),
    "audit_log": Scenario(audited_fleet, faults=SMTP_ON_25, press=("A",)),
    "audit_log_filtered": Scenario(audited_fleet, faults=SMTP_ON_25, press=("A", "slash", *"mgmt")),
    "copy_choices": Scenario(one_up, press=("c",)),
    "dashboard_footer_60": Scenario(dashboard_established, size=(60, 24)),
}
