"""A screen that knows it runs inside the rac console (typed access to the app's engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.screen import Screen

from tui.actions import Scope

if TYPE_CHECKING:
    from tui.app import RacApp


class RacScreen(Screen[None]):
    """Base of the console's screens."""

    SCOPES: ClassVar[frozenset[Scope]] = frozenset()
    """Which registry actions the command palette offers here (besides the app's)."""

    @property
    def rac(self) -> RacApp:
        """The console app (typed)."""
        from tui.app import RacApp  # the app imports the screens: resolve at call time

        assert isinstance(self.app, RacApp)
        return self.app
