"""Regenerate the README's screenshots from the same scenarios the snapshot tests check.

    python screenshots/make_screenshots.py [NAME …]

Each main screen is written to screenshots/<name>.svg (real lab on loopback, frozen clock,
seeded seeds, so the pictures only change when the screens do).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.console_scenarios import SCENARIOS  # noqa: E402
from tests.console_support import SnapshotLab, mask_lab_dns  # noqa: E402
from tests.svg_screenshot import svg_screenshot  # noqa: E402
from tui.engine.locations import default_lab_dir  # noqa: E402

MAIN_SCREENS = (
    "fleet_mixed",
    "fleet_mixed_light",
    "fleet_mixed_contrast",
    "dashboard_service",
    "dashboard_retrying_smtp",
    "probe_mixed_outcomes",
    "enable_seed_rule_error",
    "disable_confirmation",
    "help",
    "fleet_narrow",
    "fleet_sorted_marked",
    "audit_log",
    "watch_live",
    "sessions_past",
    "enable_restricted",
)


def main() -> int:
    """Write one SVG per main screen (or only the screens named on the command line)."""
    for name in sys.argv[1:] or MAIN_SCREENS:
        scenario = SCENARIOS[name]
        with tempfile.TemporaryDirectory(prefix="rac-screenshot-") as home:
            # The lab in a throw-away default place under a throw-away home: the hints and
            # paths read as on an operator's lab (`~/.local/state/rac/lab`).
            os.environ["HOME"] = home
            os.environ["XDG_STATE_HOME"] = str(Path(home) / ".local" / "state")
            app, run_before = scenario.build(default_lab_dir())
            svg = svg_screenshot(
                app, size=scenario.size, press=scenario.press, run_before=run_before, title="rac"
            )
        assert isinstance(app.environment, SnapshotLab)
        svg = mask_lab_dns(svg, app.environment)
        target = ROOT / "screenshots" / f"{name}.svg"
        target.write_text(svg, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
