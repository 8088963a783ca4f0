"""The base of the console's screens: typed access to the console that hosts them."""

from __future__ import annotations

from typing import ClassVar, cast

from textual.screen import Screen

from tui.actions import Scope
from tui.screens.console_host import ConsoleHost


class RacScreen(Screen[None]):
    """Base of the console's screens."""

    SCOPES: ClassVar[frozenset[Scope]] = frozenset()
    """Which registry actions the command palette offers here (besides the app's)."""

    @property
    def rac(self) -> ConsoleHost:
        """The console this screen runs in (the app; typed by what screens use of it)."""
        return cast(ConsoleHost, self.app)

    def apply_changes(self, names: set[str]) -> None:
        """Repaint what changed for the appliances in `names` (the app calls this on the screen
        on top after a burst of engine events). A screen with nothing live keeps this no-op."""
