"""Past and open support sessions, from the audit log and the recordings; enter replays one
in the watch screen (or watches it live while it is open)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Header, Static

from tui.actions import Scope, bindings_for
from tui.engine.errors import RacError
from tui.engine.replay import read_recording
from tui.engine.session_history import PastSession, read_sessions
from tui.formatting import date_time, elapsed, format_bytes, home_path, source_host
from tui.screens.rac_screen import RacScreen

COLUMNS = ("SESSION", "ENGINEER", "FROM", "STARTED", "DURATION", "IN", "OUT", "RECORDING")


class SessionsScreen(RacScreen):
    """Every support session this state directory knows, newest first."""

    SCOPES = frozenset({Scope.SESSIONS})
    BINDINGS = bindings_for(Scope.SESSIONS)

    def __init__(self, appliance: str | None = None) -> None:
        super().__init__()
        self.appliance = appliance
        self.sessions: dict[str, PastSession] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="sessions-summary")
        yield DataTable(id="sessions-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Support sessions" + (f" · {self.appliance}" if self.appliance else "")
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self.reload()
        table.focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Read the audit log and the recordings again."""
        rac = self.rac
        found = read_sessions(rac.engine.state_dir, self.appliance)
        found.reverse()
        self.sessions = {s.session_id: s for s in found}
        table = self.query_one(DataTable)
        table.clear()
        now = rac.clock()
        for session in found:
            table.add_row(*self._cells(session, now), key=session.session_id)
        recorded = sum(1 for s in found if s.recording)
        where = home_path(rac.engine.recordings_dir)
        self.query_one("#sessions-summary", Static).update(
            f"{len(found)} session{'s' if len(found) != 1 else ''}, {recorded} recorded in "
            f"{where} · enter replays (or watches an open one) · esc back"
            if found
            else "No support session yet. Sessions of the built-in endpoint are "
            f"recorded in {where}."
        )

    def _cells(self, session: PastSession, now: float) -> tuple[str, ...]:
        open_now = self._open(session)
        duration = (
            elapsed(session.started, session.ended)
            if session.ended
            else ("open" if open_now else "—")
        )
        recording = (
            "✓ " + session.recording.rsplit("/", 1)[-1] if session.recording else "— not recorded"
        )
        if session.note:
            recording += " (partial)"
        if session.ended_by == "operator":
            recording += " · ended by you"
        return (
            session.session_id,
            session.engineer or "—",
            source_host(session.source),
            date_time(session.started),
            duration,
            format_bytes(session.bytes_in),
            format_bytes(session.bytes_out),
            recording,
        )

    def _open(self, session: PastSession) -> bool:
        try:
            return self.rac.engine.session_tap(session.appliance, session.session_id) is not None
        except RacError:
            return False

    def action_replay(self) -> None:
        """Replay the selected session (watch it live if it is still open)."""
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        session = self.sessions.get(str(key))
        if session is None:
            return
        if self._open(session):
            self.rac.watch_session(session.appliance, session.session_id)
            return
        if not session.recording:
            self.notify(f"{session.session_id} was not recorded.", severity="warning")
            return
        try:
            recording = read_recording(Path(session.recording))
        except RacError as error:
            self.notify(error.sentence, severity="error")
            return
        from tui.screens.watch_screen import WatchScreen

        self.app.push_screen(
            WatchScreen(
                session.appliance,
                session.session_id,
                engineer=session.engineer,
                source=session.source,
                started=session.started,
                recording=recording,
            )
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_replay()

    def action_back(self) -> None:
        """Back to where the list was opened from."""
        self.app.pop_screen()
