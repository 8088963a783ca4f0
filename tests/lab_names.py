"""The built-in lab's appliances and relay names as the tests refer to them (one place).

They come from the lab's own fleet (`tui/engine/lab/lab_fleet.py`), so a renamed lab appliance
changes here and nowhere else.
"""

from __future__ import annotations

from tui.engine.lab.lab_fleet import LAB_APPLIANCES, LAB_DOMAIN

_SERIALS = {appliance["name"]: str(appliance["serial"]) for appliance in LAB_APPLIANCES}

LAB_C = "mail-gw-1"
"""C series, TUNNEL: the appliance most tests enable."""
LAB_C_SERIAL = _SERIALS[LAB_C]
LAB_X = "mail-gw-x"
"""X series, TUNNEL."""
LAB_X_SERIAL = _SERIALS[LAB_X]
LAB_M = "mgmt-1"
"""M series, TUNNEL."""
LAB_S = "web-proxy-1"
"""S series, TUNNEL."""
LAB_LAN = "mgmt-lan"
"""M series in SSHACCESS mode, reached through LAB_C."""
LAB_LAN_SERIAL = _SERIALS[LAB_LAN]
LAB_C_RELAY = f"c.tunnels.{LAB_DOMAIN}"
"""The relay name C-series appliances dial."""
