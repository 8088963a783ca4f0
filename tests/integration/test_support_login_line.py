"""The login line the console hands out never holds the seed (a command line is readable by
every local user through `ps`): support runs it as given and types the seed at the prompt."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

from tests.console_support import lab_app, recorder_for
from tests.lab_names import LAB_C, LAB_C_SERIAL
from tests.rac_process import RAC
from tests.security.test_secrets_seed_input import _converse
from tui.engine.states import TunnelState
from tui.screens.dashboard_screen import DashboardScreen
from widgets.copy_dialog import CopyDialog
from widgets.seed_panel import SeedPanel


async def test_the_copied_login_line_has_no_seed_and_logs_in(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=(140, 40)) as pilot:
        events = recorder_for(app)
        await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        seed = str(app.engine.seed(LAB_C))
        await pilot.press("c")
        assert isinstance(app.screen, CopyDialog)
        await pilot.press("l")
        line = app.clipboard
        assert line.startswith(f"rac support connect {LAB_C_SERIAL} --lab")
        assert seed not in line and "--seed" not in line

        # The line as copied, run by support: it asks for the seed, without echo.
        argv = shlex.split(line)
        assert argv[0] == "rac"
        code, shown = await asyncio.to_thread(
            _converse, [*RAC, *argv[1:], "--command", "whoami"], seed
        )
        assert f"Seed of {LAB_C_SERIAL}: " in shown
        assert code == 0, shown
        assert seed not in shown
        assert "warning" not in shown  # no seed on argv, so no argv warning either


async def test_the_dashboard_hint_names_the_line_without_the_seed(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=(140, 40)) as pilot:
        events = recorder_for(app)
        await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        seed = str(app.engine.seed(LAB_C))
        await pilot.press("enter")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.pause()
        hint = str(app.screen.query_one(SeedPanel).query_one("#seed-hint").render())
        assert f"rac support connect {LAB_C_SERIAL} --lab" in hint
        assert "asks for the seed" in hint
        assert seed not in hint
