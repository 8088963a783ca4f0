"""What the operator sees, one snapshot per screen and state, from the real lab engine.

Deterministic by construction: frozen clock, seeded seed generator, no cursor blink, fixed
terminal size, appliances brought up one after another, notifications cleared. Each SVG was
looked at as a picture before it was accepted (`--snapshot-update`, then open the SVG).

Every test has its own lab in a temporary directory (the default lab directory of the test,
under a temporary home, so no path shows and the audit log reads `~/.local/state/…`) with its
resolver on a free port: the snapshots run in parallel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion

from tests.console_scenarios import SCENARIOS
from tests.console_support import SnapshotLab, mask_lab_dns
from tests.svg_screenshot import svg_screenshot
from tui.engine.locations import default_lab_dir

SNAPSHOTS = Path(__file__).resolve().parents[1] / "__snapshots__" / "test_console_snapshots"


class ConsoleSnapshots(SVGImageExtension):  # type: ignore[misc]  # the plugin is untyped
    """The console's SVGs live in one folder, wherever the test module sits."""

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(SNAPSHOTS)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_screen(
    name: str, snapshot: SnapshotAssertion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # paths under it read `~/…`, as on any machine
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / ".local" / "state"))
    scenario = SCENARIOS[name]
    app, run_before = scenario.build(default_lab_dir())
    svg = svg_screenshot(app, size=scenario.size, press=scenario.press, run_before=run_before)
    environment = app.environment
    assert isinstance(environment, SnapshotLab)
    assert snapshot.use_extension(ConsoleSnapshots) == mask_lab_dns(svg, environment)
