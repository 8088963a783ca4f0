"""deploy/rac-relay.service: what it grants, and that systemd itself accepts it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "rac-relay.service"


def _directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_unit_grants_the_low_ports_and_nothing_else() -> None:
    unit = _directives()
    assert unit["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert unit["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert unit["DynamicUser"] == ["yes"]
    assert unit["NoNewPrivileges"] == ["yes"]
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["StateDirectory"] == ["rac-relay"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["ExecStart"][0].split()[1:3] == ["relay", "--config"]


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("RAC_REQUIRE_SYSTEMD") == "1":
            pytest.fail("systemd-analyze is required here (Debian package systemd)")
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    # verify checks that ExecStart's program exists: point it at this machine's rac.
    rac = shutil.which("rac") or str(Path(sys.executable).with_name("rac"))
    if not Path(rac).exists():
        pytest.skip("the rac console script is not installed on this machine")
    unit = tmp_path / "rac-relay.service"
    unit.write_text(
        UNIT.read_text(encoding="utf-8").replace("/usr/local/bin/rac", rac), encoding="utf-8"
    )
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    complaints = [
        line for line in (result.stderr + result.stdout).splitlines() if "rac-relay.service" in line
    ]
    assert result.returncode == 0 and not complaints, result.stderr + result.stdout
