"""The Port panel: allowed relay ports, the default marked, the selected one, test results."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.engine.states import Mode
from tui.engine.status import ApplianceStatus


class PortPanel(Static):
    """`22  [25]  53  80  443  4766` with ✓/✗ from the last connectivity test."""

    COMPONENT_CLASSES = {
        "port-panel--selected",
        "port-panel--worked",
        "port-panel--failed",
        "port-panel--idle",
    }

    def show(
        self, status: ApplianceStatus, ports: tuple[int, ...], default: int, probe: dict[int, bool]
    ) -> None:
        """Render the picker state for one appliance."""
        if status.mode is Mode.SSHACCESS:
            self.update(f"Port 22 on the gateway {status.gateway} (SSHACCESS).")
            return
        text = Text()
        for port in ports:
            role = "idle"
            if port in probe:
                role = "worked" if probe[port] else "failed"
            mark = {"worked": " ✓", "failed": " ✗"}.get(role, "")
            label = f" {port}{'*' if port == default else ''}{mark} "
            style = self.get_component_rich_style(f"port-panel--{role}")
            if port == status.selected_port:
                style = style + self.get_component_rich_style("port-panel--selected")
                label = f"[{label.strip()}]"
                label = f" {label} "
            text.append(label, style)
        text.append(f"\n* default · selected {status.selected_port}")
        if status.port != status.selected_port:
            text.append(f" · connected on {status.port} (fallback)")
        text.append("\np choose a port · t test every port")
        self.update(text)
