"""Regenerate the README's screenshots from the same scenarios the snapshot tests check.

    python screenshots/make_screenshots.py [NAME …]

Each main screen is written to screenshots/<name>.svg (real lab on loopback, frozen clock,
seeded seeds, so the pictures only change when the screens do).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual._doc import take_svg_screenshot  # noqa: E402

from tests.console_scenarios import SCENARIOS  # noqa: E402

MAIN_SCREENS = ("fleet_mixed", "fleet_mixed_light", "fleet_mixed_contrast", "dashboard_service",
                "dashboard_retrying_smtp", "probe_mixed_outcomes", "enable_seed_rule_error",
                "disable_confirmation", "help", "fleet_narrow", "fleet_sorted_marked",
                "audit_log", "watch_live", "sessions_past", "enable_restricted")


def main() -> int:
    """Write one SVG per main screen (or only the screens named on the command line)."""
    for name in sys.argv[1:] or MAIN_SCREENS:
        scenario = SCENARIOS[name]
        app, run_before = scenario.build()
        svg = take_svg_screenshot(app=app, press=scenario.press, title="rac",
                                  terminal_size=scenario.size, run_before=run_before)
        target = ROOT / "screenshots" / f"{name}.svg"
        target.write_text(svg, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
