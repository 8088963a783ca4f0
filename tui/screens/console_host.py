"""What a console screen needs from the app that hosts it, as a protocol.

Screens depend on this, not on the app class: the app imports the screens, and a screen that
imported the app back would close a cycle. `RacApp` satisfies it (checked by mypy in app.py).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from textual.widget import AwaitMount

    from tui.engine.engine import Engine
    from tui.environment import ConsoleEnvironment
    from tui.fleet_model import FleetModel


class ConsoleHost(Protocol):
    """The console's engine, model and clock, how to call the engine, and the screen openers."""

    environment: ConsoleEnvironment
    blink: bool

    @property
    def engine(self) -> Engine:
        """The engine the console drives (owned by the app, so leaving a screen stops nothing)."""
        ...

    @property
    def model(self) -> FleetModel:
        """The console model the engine's events are folded into."""
        ...

    def clock(self) -> float:
        """The injected clock, the one the engine stamps events with."""
        ...

    def call_engine(self, call: Coroutine[Any, Any, object], success: str | None = None) -> None:
        """Run an engine call as an app-owned worker; errors become a notice."""
        ...

    def support_command(self, serial: str, seed: str | None) -> str | None:
        """The login line for support, without the seed (it is asked for), if there is one."""
        ...

    def open_dashboard(self, name: str) -> AwaitMount:
        """Show one appliance's dashboard."""
        ...

    def open_probe(self, name: str) -> AwaitMount:
        """Show the connectivity test of one appliance."""
        ...

    def watch_session(self, name: str, session_id: str) -> AwaitMount | None:
        """The watch screen on an open session (None when it is not open)."""
        ...

    def open_sessions(self, name: str | None = None) -> AwaitMount:
        """Past support sessions (of one appliance, or all) and their recordings."""
        ...

    @property
    def is_started(self) -> bool:
        """The engine runs (before it, screens show the fleet as listed, "starting…")."""
        ...

    def copy_for_support(self, name: str, what: str, text: str) -> None:
        """Copy with OSC 52, saying plainly when the terminal is known to drop it."""
        ...

    def open_audit(self) -> AwaitMount:
        """Show the audit log browser."""
        ...
