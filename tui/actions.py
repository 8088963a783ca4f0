"""One registry of console actions: it feeds the footer, the help screen and the palette.

Every binding has an id (`rac.enable`, …) so a user can remap keys in settings.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from textual.binding import Binding, BindingType


class Scope(StrEnum):
    """Where an action applies."""

    FLEET = "fleet"
    DASHBOARD = "dashboard"
    WATCH = "watch"
    SESSIONS = "sessions"
    APP = "app"


KEY_LABELS = {
    "question_mark": "?",
    "slash": "/",
    "escape": "esc",
    "asterisk": "*",
    "plus": "+",
    "minus": "-",
}
"""How a key Textual names in words reads on screen (footer and help alike)."""


def key_label(key: str) -> str:
    """`question_mark` → `?`: the key as the operator reads it."""
    return KEY_LABELS.get(key, key)


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """A console action: its key, what it does, and where it applies."""

    id: str
    key: str
    action: str
    label: str
    help: str
    scopes: frozenset[Scope]
    footer: bool = True
    key_display: str | None = None
    """What the footer shows instead of the key's label (`⏎` for enter)."""

    def binding(self, key: str | None = None) -> Binding:
        """The Textual binding for this action."""
        key = key or self.key
        display = self.key_display or (key_label(key) if key in KEY_LABELS else None)
        return Binding(
            key, self.action, self.label, show=self.footer, id=self.id, key_display=display
        )


_BOTH = frozenset({Scope.FLEET, Scope.DASHBOARD})

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "rac.open",
        "enter",
        "open",
        "Open",
        "Open the dashboard of the selected appliance",
        frozenset({Scope.FLEET}),
        key_display="⏎",
    ),
    ActionSpec(
        "rac.back",
        "escape",
        "back",
        "Back",
        "Back to the fleet overview",
        frozenset({Scope.DASHBOARD}),
    ),
    ActionSpec(
        "rac.enable",
        "e",
        "enable",
        "Enable",
        "Enable remote access: mode, seed, port or gateway, confirm",
        _BOTH,
    ),
    ActionSpec(
        "rac.disable",
        "d",
        "disable",
        "Disable",
        "Disable remote access (asks first); support sessions end at once",
        _BOTH,
    ),
    ActionSpec(
        "rac.port",
        "p",
        "port",
        "Port",
        "Choose the relay port; a running tunnel reconnects on it",
        _BOTH,
    ),
    ActionSpec(
        "rac.new_seed",
        "n",
        "new_seed",
        "New seed",
        "Replace the seed (asks first): current support access ends",
        _BOTH,
    ),
    ActionSpec(
        "rac.copy_seed",
        "c",
        "copy_seed",
        "Copy seed",
        "Copy for support: the seed, "
        "serial and seed, or the whole login line (OSC 52; says when the terminal "
        "drops it)",
        _BOTH,
    ),
    ActionSpec(
        "rac.probe",
        "t",
        "probe",
        "Test ports",
        "Connectivity test of every relay port for this appliance",
        _BOTH,
    ),
    ActionSpec(
        "rac.capture",
        "k",
        "capture",
        "Capture",
        "Packet capture (tcpdump) of one connection attempt to the relay (asks first)",
        _BOTH,
        footer=False,
    ),
    ActionSpec(
        "rac.accept_key",
        "a",
        "accept_host_key",
        "Accept key",
        "Pin the relay host key the agent was shown (asks first)",
        _BOTH,
        footer=False,
    ),
    ActionSpec("rac.log", "l", "log", "Log", "Show the log pane large, or back", _BOTH),
    ActionSpec(
        "rac.log_level",
        "f",
        "log_level",
        "Log level",
        "Cycle the log level shown: info and up, warnings, errors, everything",
        _BOTH,
        footer=False,
    ),
    ActionSpec(
        "rac.filter",
        "slash",
        "filter",
        "Filter",
        "Filter the fleet by name, serial, state or mode",
        frozenset({Scope.FLEET}),
    ),
    ActionSpec(
        "rac.sort",
        "s",
        "sort",
        "Sort",
        "Sort the fleet by the next column (a click "
        "on a column title sorts by it; again: the other way)",
        frozenset({Scope.FLEET}),
        footer=False,
    ),
    ActionSpec(
        "rac.sort_reverse",
        "S",
        "sort_reverse",
        "Reverse sort",
        "Sort the other way",
        frozenset({Scope.FLEET}),
        footer=False,
    ),
    ActionSpec(
        "rac.show_all",
        "1",
        "quick('all')",
        "Show all",
        "Show every appliance",
        frozenset({Scope.FLEET}),
        footer=False,
    ),
    ActionSpec(
        "rac.show_up",
        "2",
        "quick('up')",
        "Show up",
        "Show only tunnels that are up",
        frozenset({Scope.FLEET}),
        footer=False,
    ),
    ActionSpec(
        "rac.show_failing",
        "3",
        "quick('failing')",
        "Show failing",
        "Show only tunnels retrying or waiting for the operator",
        frozenset({Scope.FLEET}),
        footer=False,
    ),
    ActionSpec(
        "rac.show_service",
        "4",
        "quick('in SERVICE')",
        "Show in SERVICE",
        "Show only appliances with support inside",
        frozenset({Scope.FLEET}),
        footer=False,
    ),
    ActionSpec(
        "rac.show_enabled",
        "5",
        "quick('enabled')",
        "Show enabled",
        "Show only appliances with remote access enabled",
        frozenset({Scope.FLEET}),
        footer=False,
    ),
    ActionSpec(
        "rac.mark",
        "space",
        "mark",
        "Mark",
        "Mark or unmark the row: e and d then act on every marked row (one confirmation)",
        frozenset({Scope.FLEET}),
        footer=False,
    ),
    ActionSpec(
        "rac.mark_all",
        "asterisk",
        "mark_all",
        "Mark all shown",
        "Mark every row shown (after a filter), or clear the marks",
        frozenset({Scope.FLEET}),
        footer=False,
    ),
    ActionSpec(
        "rac.audit",
        "A",
        "audit",
        "Audit log",
        "Browse the audit log (enable, disable, seeds, ports, sessions) with a filter",
        frozenset({Scope.APP}),
        footer=False,
    ),
    ActionSpec(
        "rac.watch",
        "w",
        "watch",
        "Watch",
        "Watch a support session live: what the engineer sees and types",
        frozenset({Scope.DASHBOARD}),
    ),
    ActionSpec(
        "rac.end_session",
        "x",
        "end_session",
        "End session",
        "End one support session (asks first); the seed stays valid for others",
        frozenset({Scope.DASHBOARD, Scope.WATCH}),
    ),
    ActionSpec(
        "rac.extend",
        "L",
        "extend_lifetime",
        "Extend",
        "Extend the access lifetime (the countdown follows)",
        frozenset({Scope.DASHBOARD}),
        footer=False,
    ),
    ActionSpec(
        "rac.sessions",
        "h",
        "sessions",
        "Sessions",
        "Past support sessions and their recordings; replay one",
        _BOTH,
        footer=False,
    ),
    ActionSpec(
        "rac.replay",
        "enter",
        "replay",
        "Replay",
        "Replay the selected session's recording",
        frozenset({Scope.SESSIONS}),
        key_display="⏎",
    ),
    ActionSpec(
        "rac.replay_faster",
        "plus",
        "speed(2.0)",
        "Faster",
        "Replay faster (×2)",
        frozenset({Scope.WATCH}),
        footer=False,
        key_display="+",
    ),
    ActionSpec(
        "rac.replay_slower",
        "minus",
        "speed(0.5)",
        "Slower",
        "Replay slower (÷2)",
        frozenset({Scope.WATCH}),
        footer=False,
        key_display="-",
    ),
    ActionSpec(
        "rac.watch_back",
        "escape",
        "back",
        "Back",
        "Back to where you were",
        frozenset({Scope.WATCH, Scope.SESSIONS}),
        key_display="esc",
    ),
    ActionSpec(
        "rac.notifications",
        "B",
        "toggle_notifications",
        "Notifications",
        "Bell and desktop notification (OSC 9) when support enters or leaves: on or off",
        frozenset({Scope.APP}),
        footer=False,
    ),
    ActionSpec(
        "rac.help", "question_mark", "help", "Help", "Keys and what they do", frozenset({Scope.APP})
    ),
    ActionSpec(
        "rac.quit",
        "q",
        "quit",
        "Quit",
        "Quit (asks whether to disable running tunnels first)",
        frozenset({Scope.APP}),
    ),
)


def actions_for(scope: Scope) -> list[ActionSpec]:
    """The actions of one scope, in registry order."""
    return [spec for spec in ACTIONS if scope in spec.scopes]


def bindings_for(scope: Scope) -> list[BindingType]:
    """BINDINGS for a screen or the app."""
    return [spec.binding() for spec in actions_for(scope)]
