"""The (SERVICE) indicator: impossible to miss while support is inside the appliance."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.engine.status import SessionView
from tui.formatting import clock_time, format_bytes, source_host


class ServiceBanner(Static):
    """A full-width block in the theme's service colour; hidden when nobody is inside."""

    def show(self, sessions: tuple[SessionView, ...]) -> None:
        """Show who is inside, from where, since when, and the bytes moved."""
        self.set_class(bool(sessions), "-active")
        if not sessions:
            self.update("")
            return
        text = Text("(SERVICE)  support is inside this appliance", style="bold")
        for session in sessions:
            who = session.engineer or "engineer (identifying…)"
            text.append(
                f"\n{who} from {source_host(session.source)} since "
                f"{clock_time(session.started)} · {format_bytes(session.bytes_in)} in / "
                f"{format_bytes(session.bytes_out)} out"
            )
        self.update(text)
