"""The operator sees a storage problem in the console: a notice, the fleet log, and the
dashboard — while the tunnel stays up."""

from __future__ import annotations

from pathlib import Path

from tests.console_support import lab_app, recorder_for, settle
from tests.lab_names import LAB_C
from tui.engine.events import StorageChanged
from tui.engine.states import TunnelState
from tui.screens.dashboard_screen import DashboardScreen
from widgets.tunnel_panel import TunnelPanel

SIZE = (140, 40)


async def test_an_audit_log_that_cannot_be_written_shows_in_the_console(
    tmp_path: Path, notices: list[str]
) -> None:
    audit = tmp_path / "lab" / "state" / "audit.jsonl"
    audit.parent.parent.mkdir(mode=0o700)
    audit.parent.mkdir(mode=0o700)
    audit.mkdir()  # the wrong kind of file where the audit log goes
    app = lab_app(tmp_path / "lab", frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        events = recorder_for(app)
        app.call_engine(app.engine.enable(LAB_C))
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        await events.wait_for(lambda e: isinstance(e, StorageChanged) and bool(e.problem))
        await settle(pilot)
        expected = f"Cannot write {audit}: it is a directory where rac keeps a file"
        assert any(expected in notice for notice in notices)
        assert any(expected in line.text for line in app.model.fleet_log)
        await pilot.press("enter")
        assert isinstance(app.screen, DashboardScreen)
        await settle(pilot)
        reason = app.screen.query_one(TunnelPanel).query_one("#tunnel-reason")
        assert reason.display
        assert f"state not saved: {expected}" in str(reason.render())
        assert app.engine.status(LAB_C).state is TunnelState.ESTABLISHED
