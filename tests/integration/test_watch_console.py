"""Watching support from the console, against the real lab: the watch screen shows what a real
engineer session prints, `x` ends one session and not another, the sessions screen replays a
recording, notifications reach the terminal as escape sequences, and the enable dialogue takes
restrictions and accepts its defaults with enter."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import subprocess
import sys
import time
import tty
from collections.abc import Callable
from pathlib import Path

import asyncssh
import pyte
from textual.pilot import Pilot

from tests.conftest import LAB_C, LAB_C_SERIAL, RunningLab, require_openssh
from tests.console_support import lab_app, recorder_for, seeded_options, settle
from tests.engineer import login
from tests.openssh import client_config, copy_key, login_name, sign_certificate, ssh, sshd
from tui.app import RacApp
from tui.engine.events import ServiceEnded, ServiceStarted
from tui.engine.states import TunnelState
from tui.environment import InventoryEnvironment
from tui.screens.dashboard_screen import DashboardScreen
from tui.screens.sessions_screen import SessionsScreen
from tui.screens.watch_screen import WatchScreen
from tui.settings import Settings
from widgets.confirm_dialog import ConfirmDialog
from widgets.enable_dialog import EnableDialog
from widgets.session_picker import SessionPicker
from widgets.terminal_view import TerminalView

SIZE = (140, 42)
PROMPT = f"{LAB_C} (SERVICE)> "


async def until(
    pilot: Pilot[None], check: Callable[[], bool], what: str, timeout: float = 15.0
) -> None:
    """Let the app run until `check()` holds (bounded): waits on the event, not a guess."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def _screen_text(app: RacApp) -> str:
    return "\n".join(app.screen.query_one(TerminalView).text_lines())


async def _shell(
    app: RacApp,
    seed: str,
    tmp: Path,
    identity: str,
) -> tuple[
    asyncssh.SSHClientConnection, asyncssh.SSHClientConnection, asyncssh.SSHClientProcess[str]
]:
    info = app.environment.info  # type: ignore[attr-defined]
    relay, appliance = await login(info, tmp, LAB_C_SERIAL, seed, identity=identity)
    process = await appliance.create_process(term_type="xterm", term_size=(90, 20))
    return relay, appliance, process


async def test_watch_shows_what_the_engineer_sees_and_types(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        seed = await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        relay, appliance, process = await _shell(app, seed, tmp_path, "alice")
        await events.wait_for(lambda e: isinstance(e, ServiceStarted))
        await app.open_dashboard(LAB_C)
        await settle(pilot)
        await pilot.press("w")
        assert isinstance(app.screen, WatchScreen)
        process.stdin.write("version\r")
        await until(
            pilot,
            lambda: "built-in service endpoint on mail-gw-1" in _screen_text(app),
            "the engineer's output on the watch screen",
        )
        await until(
            pilot,
            lambda: "version⏎" in str(app.screen.query_one("#watch-typed").render()),
            "the typed input",
        )
        header = str(app.screen.query_one("#watch-header").render())
        assert "LIVE" in header and "alice on mail-gw-1" in header and "90×20" in header
        # A full-speed stream: the view keeps up with the tail, the session never waits.
        drain = asyncio.create_task(process.stdout.read())  # the engineer reads it all
        process.stdin.write("stream 4\r")
        last = f"{4 * 1024 * 1024 // 80 - 1:010d}"
        await until(pilot, lambda: last in _screen_text(app), "the end of a 4 MiB stream")
        lines = app.screen.query_one(TerminalView).text_lines()
        assert lines[-1].startswith(PROMPT.rstrip()) or lines[-2].startswith(last)
        appliance.close()
        relay.close()
        await asyncio.wait_for(drain, 10)
        await events.wait_for(lambda e: isinstance(e, ServiceEnded))
        await until(
            pilot,
            lambda: "SESSION ENDED" in str(app.screen.query_one("#watch-header").render()),
            "the end shown in the header",
        )


async def test_a_flood_while_watched_ends_on_the_engineers_last_screen(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        seed = await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        relay, appliance, process = await _shell(app, seed, tmp_path, "alice")
        await events.wait_for(lambda e: isinstance(e, ServiceStarted))
        received: list[str] = []  # everything the engineer's terminal was sent
        last = f"{2 * 1024 * 1024 // 80 - 1:010d}"
        streamed = asyncio.Event()

        async def read_all() -> None:
            tail = ""
            while chunk := await process.stdout.read(1 << 20):
                received.append(chunk)
                tail = (tail + chunk)[-200:]
                if last in tail and tail.endswith(PROMPT):
                    streamed.set()

        reader = asyncio.create_task(read_all())
        session = app.engine.status(LAB_C).sessions[0]
        mounted = app.watch_session(LAB_C, session.session_id)
        assert mounted is not None
        await mounted
        await until(pilot, lambda: PROMPT.rstrip() in _screen_text(app), "the joiner's screen")
        process.stdin.write("stream 2\r")  # 26,000 lines of a 20-line screen, at full speed
        await asyncio.wait_for(streamed.wait(), 60)
        engineer = pyte.Screen(90, 20)  # the engineer's terminal, fed every byte
        pyte.Stream(engineer).feed("".join(received))
        expected = [line.rstrip() for line in engineer.display]
        view = app.screen.query_one(TerminalView)
        await until(pilot, lambda: view.text_lines() == expected, "the engineer's last screen")
        assert expected[-2].startswith(last) and expected[-1] == PROMPT.rstrip()
        header = app.screen.query_one("#watch-header")
        await until(  # the counters catch up within a second of a flood
            pilot,
            lambda: (
                "out 2." in str(header.render()) and "skipped to keep up" in str(header.render())
            ),
            "the header to count the stream and what the view skipped",
        )
        appliance.close()
        relay.close()
        await asyncio.wait_for(reader, 10)


async def test_x_ends_one_session_and_not_another(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        seed = await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        a_relay, a_conn, alice = await _shell(app, seed, tmp_path, "alice")
        b_relay, b_conn, _bob = await _shell(app, seed, tmp_path, "bob")
        await events.wait_for(lambda e: isinstance(e, ServiceStarted) and e.engineer == "bob")
        await app.open_dashboard(LAB_C)
        await settle(pilot)
        await pilot.press("x")
        assert isinstance(app.screen, SessionPicker)
        await pilot.press("enter")  # the first: alice's
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        ended = await events.wait_for(lambda e: isinstance(e, ServiceEnded))
        assert isinstance(ended, ServiceEnded) and ended.engineer == "alice"
        told = await asyncio.wait_for(alice.stdout.read(), 10)
        assert "support session ended by the operator" in told
        await alice.wait_closed()
        assert alice.exit_status == 255
        assert [s.engineer for s in app.engine.status(LAB_C).sessions] == ["bob"]
        audit = [json.loads(line) for line in app.engine.audit.path.read_text().splitlines()]
        assert any(
            r["action"] == "session-ended-by-operator" and r["engineer"] == "alice" for r in audit
        )
        # x from the watch screen ends bob's, the one watched.
        await pilot.press("w")
        assert isinstance(app.screen, WatchScreen) and app.screen.engineer == "bob"
        await pilot.press("x", "y")
        await events.wait_for(lambda e: isinstance(e, ServiceEnded) and e.engineer == "bob")
        for connection in (a_conn, a_relay, b_conn, b_relay):
            connection.close()
        assert isinstance(app.screen, WatchScreen | DashboardScreen)


async def test_rac_support_connect_ends_with_255_and_the_sentence(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        seed = await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        info = app.environment.info  # type: ignore[attr-defined]
        primary, secondary = pty.openpty()
        tty.setraw(secondary)
        engineer = subprocess.Popen(  # noqa: ASYNC220 — a real terminal for the engineer
            [
                sys.executable,
                "-m",
                "tui",
                "support",
                "connect",
                LAB_C_SERIAL,
                "--seed",
                seed,
                "--lab",
                "--state-dir",
                str(info.directory),
                "--as",
                "alice",
            ],
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            close_fds=True,
            env={**os.environ, "TERM": "xterm"},
        )
        os.close(secondary)
        os.set_blocking(primary, False)
        seen = bytearray()

        def read() -> bytes:
            with contextlib.suppress(BlockingIOError, OSError):  # nothing yet, or closed
                seen.extend(os.read(primary, 65536))
            return bytes(seen)

        try:
            started = await events.wait_for(lambda e: isinstance(e, ServiceStarted), timeout=30)
            assert isinstance(started, ServiceStarted)
            await until(pilot, lambda: PROMPT.encode() in read(), "the engineer's prompt")
            await app.open_dashboard(LAB_C)
            await pilot.press("x", "y")
            await until(pilot, lambda: engineer.poll() is not None, "rac support connect to end")
            read()
            assert engineer.returncode == 255
            assert b"support session ended by the operator" in bytes(seen)
        finally:
            if engineer.poll() is None:
                engineer.kill()
            engineer.wait()
            os.close(primary)


async def test_sessions_screen_replays_a_recording(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        seed = await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        relay, appliance, process = await _shell(app, seed, tmp_path, "alice")
        process.stdin.write("whoami\rexit\r")
        await asyncio.wait_for(process.wait_closed(), 10)
        appliance.close()
        relay.close()
        await events.wait_for(lambda e: isinstance(e, ServiceEnded))
        await app.engine._runtimes[LAB_C].sessions.flush_recordings()
        await pilot.press("h")
        assert isinstance(app.screen, SessionsScreen)
        assert f"{LAB_C}#1" in app.screen.sessions
        await pilot.press("enter")
        assert isinstance(app.screen, WatchScreen) and app.screen.recording is not None
        await until(
            pilot, lambda: "alice (user service)" in _screen_text(app), "the replayed output"
        )
        assert "REPLAY" in str(app.screen.query_one("#watch-header").render())


async def test_support_entering_and_leaving_rings_and_notifies(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        written: list[str] = []
        bells: list[bool] = []
        app.write_to_terminal = written.append  # type: ignore[method-assign,assignment]
        app.bell = lambda: bells.append(True)  # type: ignore[method-assign]
        events = recorder_for(app)
        seed = await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        relay, appliance = await login(
            app.environment.info,  # type: ignore[attr-defined]
            tmp_path,
            LAB_C_SERIAL,
            seed,
            identity="alice",
        )
        await events.wait_for(lambda e: isinstance(e, ServiceStarted))
        appliance.close()
        relay.close()
        await events.wait_for(lambda e: isinstance(e, ServiceEnded))
        await settle(pilot)
        local = "127.0.0.1"
        assert written == [
            f"\x1b]9;(SERVICE) alice entered {LAB_C} from {local}\x07",
            f"\x1b]9;(SERVICE) alice left {LAB_C}\x07",
        ]
        assert bells == [True, True]
        notices = [n.message for n in app._notifications]
        assert f"(SERVICE) alice entered {LAB_C} from {local}" in notices
        # The off switch: no bell, no escape sequence; the notice stays.
        await pilot.press("B")
        assert app.settings.notifications == "off"
        relay, appliance = await login(
            app.environment.info,  # type: ignore[attr-defined]
            tmp_path,
            LAB_C_SERIAL,
            seed,
            identity="bob",
        )
        await events.wait_for(lambda e: isinstance(e, ServiceStarted) and e.engineer == "bob")
        appliance.close()
        relay.close()
        assert len(written) == 2 and len(bells) == 2


async def test_enable_dialogue_enter_accepts_defaults_and_restrictions_apply(
    tmp_path: Path,
) -> None:
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=(80, 24)) as pilot:
        events = recorder_for(app)
        await pilot.press("e")
        assert isinstance(app.screen, EnableDialog)
        enable = app.screen.query_one("#enable")
        assert enable.region.bottom <= 24 and enable.region.height > 0  # in view at 80×24
        await pilot.press("enter")  # the defaults, like the appliance CLI's [Y]>
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        assert not app.engine.restrictions(LAB_C).any

        await pilot.press("e", "y")  # enable again (asks first)
        assert isinstance(app.screen, EnableDialog)
        app.screen.query_one("#engineers").focus()
        await pilot.press(*"alice")
        app.screen.query_one("#lifetime").focus()
        await pilot.press("ctrl+a", "ctrl+k", *"2h")
        app.screen.query_one("#not-before").focus()
        await pilot.press(*"tomorrow")
        assert app.screen.query_one("#enable").disabled
        assert "write a UTC time" in str(app.screen.query_one("#restriction-rule").render())
        await pilot.press(*["backspace"] * 8)
        await pilot.press("ctrl+s")  # from anywhere in the dialogue
        mark = events.mark
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED, after=mark - 1)
        await until(
            pilot,
            lambda: app.engine.restrictions(LAB_C).engineers == ("alice",),
            "the restriction in force",
        )
        status = app.engine.status(LAB_C)
        assert status.expires_at is not None and status.enabled_at is not None
        assert round(status.expires_at - status.enabled_at) == 7200
        seed = app.engine.seed(LAB_C)
        assert seed is not None
        info = app.environment.info  # type: ignore[attr-defined]
        from tui.engine.errors import RacError

        try:
            await login(info, tmp_path, LAB_C_SERIAL, seed, identity="mallory")
        except RacError as refused:
            assert "mallory is not among the engineers allowed in" in refused.sentence
            assert "alice" not in refused.sentence
        else:
            raise AssertionError("mallory got in")
        await settle(pilot)
        log = [line.text for line in app.model.views[LAB_C].log]
        assert any("mallory is not among the engineers allowed in (alice)" in text for text in log)

        # L extends the lifetime; the countdown follows.
        before = app.engine.status(LAB_C).expires_at
        await app.open_dashboard(LAB_C)
        await pilot.press("L")
        await pilot.press("ctrl+a", "ctrl+k", *"3h", "enter")
        await until(
            pilot, lambda: app.engine.status(LAB_C).expires_at != before, "the new end of access"
        )
        assert round(app.engine.status(LAB_C).expires_at - before) == 3 * 3600  # type: ignore[operator]


async def test_a_real_sshd_session_cannot_be_watched_but_can_be_ended(
    lab: RunningLab, tmp_path: Path
) -> None:
    require_openssh()
    seed = "sshd-session-seed"
    serial = "0C4A1D8E7777-FCH2301SSHD"
    async with sshd(
        tmp_path / "sshd",
        ca_public_key=lab.info.support_ca_key.with_suffix(".pub"),
        principal=f"{serial}:{seed}",
    ) as port:
        inventory = lab.inventory_with_appliances(
            [
                {
                    "name": "real-sshd",
                    "series": "C",
                    "model": "C395",
                    "serial": serial,
                    "service": f"ssh://127.0.0.1:{port}",
                }
            ]
        )
        app = RacApp(
            InventoryEnvironment(inventory, tmp_path / "state"),
            options=seeded_options(frozen=False),
            settings=Settings(None),
            blink=False,
        )
        async with app.run_test(size=SIZE) as pilot:
            events = recorder_for(app)
            await app.engine.enable("real-sshd", seed=seed)
            await events.wait_state("real-sshd", TunnelState.ESTABLISHED)
            key = copy_key(lab.info.engineer_key, tmp_path, "engineer")
            sign_certificate(
                lab.info.support_ca_key, key, identity="carol", principal=f"{serial}:{seed}"
            )
            config = client_config(tmp_path, key, lab.info.known_hosts)
            jump = f"lab-engineer@127.0.0.1:{lab.info.relay_ports['25']}"
            engineer = asyncio.create_task(
                ssh(config, "-J", jump, f"{login_name()}@{serial}", "sleep 30", timeout=40)
            )
            await events.wait_for(lambda e: isinstance(e, ServiceStarted), timeout=30)
            await app.open_dashboard("real-sshd")
            await settle(pilot)
            subtitle = str(app.screen.query_one("#sessions").border_subtitle)
            assert "end-to-end encrypted" in subtitle and "not watched or recorded" in subtitle
            await pilot.press("w")
            assert isinstance(app.screen, DashboardScreen)
            notices = [n.message for n in app._notifications]
            assert any("cannot watch or record it" in n for n in notices)
            await pilot.press("x", "y")
            ended = await events.wait_for(lambda e: isinstance(e, ServiceEnded), timeout=15)
            assert isinstance(ended, ServiceEnded) and ended.recording == ""
            code, _, _ = await engineer
            assert code == 255  # ssh: the connection was closed under it
            assert not (tmp_path / "state" / "recordings").exists()
