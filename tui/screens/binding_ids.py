"""Every binding id the console's screens, dialogues and widgets define (besides the action
registry): what a keymap in settings.json may name."""

from __future__ import annotations

import importlib

from textual.binding import Binding

_HOLDERS = (
    ("tui.screens.fleet_screen", "FleetScreen"),
    ("tui.screens.dashboard_screen", "DashboardScreen"),
    ("tui.screens.probe_screen", "ProbeScreen"),
    ("tui.screens.help_screen", "HelpScreen"),
    ("tui.screens.audit_screen", "AuditScreen"),
    ("widgets.fleet_table", "FleetTable"),
    ("widgets.audit_view", "AuditView"),
    ("widgets.confirm_dialog", "ConfirmDialog"),
    ("widgets.port_dialog", "PortDialog"),
    ("widgets.quit_dialog", "QuitDialog"),
    ("widgets.copy_dialog", "CopyDialog"),
    ("widgets.enable_dialog", "EnableDialog"),
)


def console_binding_ids() -> set[str]:
    """The ids of every Binding the console's classes declare."""
    ids: set[str] = set()
    for module_name, class_name in _HOLDERS:
        holder = getattr(importlib.import_module(module_name), class_name, None)
        for binding in getattr(holder, "BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids
