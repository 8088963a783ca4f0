"""Known vendors' relay layouts, so an administrator can pre-flight a firewall for them."""

from __future__ import annotations

from dataclasses import dataclass

from tui.engine.inventory import RELAY_PORTS, Series


@dataclass(frozen=True, slots=True)
class Preset:
    """A vendor's relay names and ports."""

    name: str
    domain: str
    ports: tuple[int, ...]
    default_port: int

    def host(self, series: Series | None) -> str:
        """`upgrades.<domain>` for all, or the series' own tunnel host."""
        if series is None:
            return f"upgrades.{self.domain}"
        return f"{series.value.lower()}.tunnels.{self.domain}"


PRESETS: dict[str, Preset] = {
    "cisco": Preset("cisco", "ironport.com", RELAY_PORTS, 25),
}
