"""What the operator sees, one snapshot per screen and state, from the real lab engine.

Deterministic by construction: frozen clock, seeded seed generator, no cursor blink, fixed
terminal size, appliances brought up one after another, notifications cleared. Each SVG was
looked at as a picture before it was accepted (`--snapshot-update`, then open the SVG).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.console_scenarios import SCENARIOS


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_screen(name: str, snap_compare: Callable[..., bool]) -> None:
    scenario = SCENARIOS[name]
    app, run_before = scenario.build()
    assert snap_compare(app, terminal_size=scenario.size, press=list(scenario.press),
                        run_before=run_before)
