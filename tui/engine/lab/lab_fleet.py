"""The lab's appliances: one per series, and an M series that has no internet of its own."""

from __future__ import annotations

from typing import Any

LAB_DOMAIN = "rac.test"
LAB_ENGINEER = "lab-engineer"

LAB_APPLIANCES: list[dict[str, Any]] = [
    {"name": "mail-gw-1", "series": "C", "model": "C695", "serial": "0C4A1D8E2F61-FCH2143V0AB"},
    {"name": "mail-gw-x", "series": "X", "model": "X1070", "serial": "0C4A1D8E3A02-FCH1911Z1KX"},
    {"name": "mgmt-1", "series": "M", "model": "M695", "serial": "00505693A1F4-FCH2031V0M7"},
    {"name": "web-proxy-1", "series": "S", "model": "S695", "serial": "0050569E2C8D-WZP22410H3Q"},
    {
        "name": "mgmt-lan",
        "series": "M",
        "model": "M395",
        "serial": "0C4A1D8E5B13-FCH2205V1QP",
        "mode": "sshaccess",
        "gateway": "mail-gw-1",
    },
]


def relay_names(domain: str = LAB_DOMAIN) -> list[str]:
    """Every relay name of the reference layout under `domain`."""
    return [f"upgrades.{domain}"] + [f"{s}.tunnels.{domain}" for s in "cxms"]
