"""The support sessions of the current enablement: open ones first, then the ended ones."""

from __future__ import annotations

from rich.table import Table
from textual.widgets import Static

from tui.fleet_model import SessionRecord
from tui.formatting import clock_time, elapsed, format_bytes, source_host


class SessionList(Static):
    """Who came in, from where, when, for how long, how many bytes."""

    def show(self, history: list[SessionRecord], now: float) -> None:
        """Render the session history."""
        if not history:
            self.update("No support session since remote access was enabled.")
            return
        table = Table(box=None, padding=(0, 1), expand=True, show_edge=False)
        for title in ("SESSION", "ENGINEER", "FROM", "STARTED", "DURATION", "IN", "OUT"):
            table.add_column(title, no_wrap=True)
        ordered = sorted(history, key=lambda r: (r.ended is not None, -r.started))
        for record in ordered:
            duration = elapsed(record.started, record.ended if record.ended else now)
            table.add_row(
                record.session_id,
                record.engineer or "—",
                source_host(record.source),
                clock_time(record.started),
                duration + ("" if record.ended else " (open)"),
                format_bytes(record.bytes_in),
                format_bytes(record.bytes_out),
            )
        self.update(table)
