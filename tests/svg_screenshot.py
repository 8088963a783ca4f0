"""A picture of the console as SVG, taken through Textual's public API only.

The snapshot tests and `screenshots/make_screenshots.py` both use it, so the README's pictures
and the checked snapshots come out of the same code.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from textual.app import App
from textual.pilot import Pilot

RunBefore = Callable[[Pilot[Any]], Awaitable[None] | None]


def svg_screenshot(
    app: App[Any],
    *,
    size: tuple[int, int],
    press: Iterable[str] = (),
    run_before: RunBefore | None = None,
    title: str | None = None,
) -> str:
    """Run `app` headless at `size`, bring it to its state, press the keys, and export."""
    keys = tuple(press)
    pictures: list[str] = []

    async def auto_pilot(pilot: Pilot[Any]) -> None:
        if run_before is not None:
            prepared = run_before(pilot)
            if inspect.isawaitable(prepared):
                await prepared
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        pictures.append(
            app.export_screenshot(title=title if title is not None else app.title, simplify=True)
        )
        app.exit()

    app.run(headless=True, size=size, auto_pilot=auto_pilot)
    assert pictures, "the app stopped before the screenshot was taken"
    return pictures[0]
