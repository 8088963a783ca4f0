"""The verbs on support sessions, shared by the fleet and the dashboard: watch one, end one,
extend the lifetime, browse past sessions.

With a real sshd behind `service = "ssh://…"` the session is end to end encrypted: rac can
end it (it holds the channel) but cannot watch or record it, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tui.formatting import countdown, source_host
from tui.screens.rac_screen import RacScreen
from widgets.confirm_dialog import ConfirmDialog

if TYPE_CHECKING:
    from tui.engine.session_restrictions import SessionRestrictions

NOT_WATCHABLE = (
    "{name} hands support to its own sshd ({service}): the session is end-to-end "
    "encrypted, so rac cannot watch or record it. x can still end it."
)


def sessions_note(watchable: bool, restrictions: SessionRestrictions, enabled: bool) -> str:
    """The sessions panel's subtitle: what rac sees of a session, and who may come in."""
    seen = (
        "recorded · w watch · x end"
        if watchable
        else "end-to-end encrypted to its own sshd: not watched or recorded · x ends one"
    )
    if enabled and restrictions.any:
        return f"{seen} · admits {restrictions.describe()}"
    return seen


def confirm_end_session(screen: RacScreen, name: str, session_id: str, engineer: str) -> None:
    """Ask, then end one session of `name`; the others and the seed stay (dashboard and
    watch screen alike)."""
    rac = screen.rac
    who = engineer or "support"

    def answered(yes: bool | None) -> None:
        if yes:
            rac.call_engine(
                rac.engine.end_session(name, session_id),
                f"Session {session_id} of {who} on {name} ended.",
            )

    screen.app.push_screen(
        ConfirmDialog(
            f"End {who}'s session {session_id} on {name}?",
            f"{who} is told the session was ended by the operator. The seed stays valid: "
            "other engineers stay in, and anyone holding it may log in again.",
            yes="End session",
        ),
        answered,
    )


class SessionActions(RacScreen):
    """A screen whose session verbs act on `selected_appliance`'s open sessions."""

    @property
    def selected_appliance(self) -> str | None:
        """The appliance the verbs act on."""
        raise NotImplementedError

    def _pick_session(self, verb: str, then: Callable[[str, str], object]) -> None:
        """One open session of the selected appliance: the only one, or the one picked."""
        name = self.selected_appliance
        if name is None:
            self.notify("No appliance selected.", severity="warning")
            return
        sessions = self.rac.engine.status(name).sessions
        if not sessions:
            self.notify(f"No support session is open on {name}.", severity="warning")
            return
        if len(sessions) == 1:
            then(name, sessions[0].session_id)
            return
        from widgets.session_picker import SessionChoice, SessionPicker

        choices = [
            SessionChoice(
                s.session_id,
                f"{s.session_id}  {s.engineer or 'support'} from {source_host(s.source)}",
            )
            for s in sessions
        ]

        def picked(session_id: str | None) -> None:
            if session_id is not None:
                then(name, session_id)

        self.app.push_screen(SessionPicker(f"{verb} which session on {name}?", choices), picked)

    def action_watch(self) -> None:
        """Open the watch screen on an open session (asks which when several)."""
        name = self.selected_appliance
        if name is not None and not self.rac.engine.watchable(name):
            service = self.rac.engine.inventory.get(name).service
            self.notify(
                NOT_WATCHABLE.format(name=name, service=service), severity="warning", timeout=10
            )
            return
        self._pick_session("Watch", self.rac.watch_session)

    def action_end_session(self) -> None:
        """Ask, then end one session; the others and the seed stay."""
        self._pick_session("End", self._confirm_end)

    def _confirm_end(self, name: str, session_id: str) -> None:
        session = next(
            (s for s in self.rac.engine.status(name).sessions if s.session_id == session_id), None
        )
        confirm_end_session(self, name, session_id, session.engineer if session else "")

    def action_extend_lifetime(self) -> None:
        """Give access more time; the countdown follows."""
        name = self.selected_appliance
        if name is None:
            return
        rac = self.rac
        status = rac.engine.status(name)
        if not status.enabled:
            self.notify(
                f"Remote access is not enabled on {name}: enable it first.", severity="warning"
            )
            return
        from widgets.lifetime_dialog import LifetimeDialog

        def chosen(seconds: float | None) -> None:
            if seconds is not None:
                rac.call_engine(
                    rac.engine.extend_lifetime(name, seconds), f"Access on {name} extended."
                )

        self.app.push_screen(
            LifetimeDialog(name, countdown(status.expires_at, rac.clock()), blink=rac.blink), chosen
        )

    def action_sessions(self) -> None:
        """Past support sessions and their recordings (this appliance's, on its dashboard)."""
        from tui.actions import Scope

        self.rac.open_sessions(self.selected_appliance if Scope.DASHBOARD in self.SCOPES else None)
