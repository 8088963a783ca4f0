"""The reference for keypress → repaint: a bare Textual app with a 1,000-row DataTable taking
the same keys as the console's fleet table (no engine, no churn)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.widgets import DataTable

ROWS = 1000


class BareTable(App[None]):
    """One DataTable of ROWS × 10 cells, focused."""

    def compose(self) -> ComposeResult:
        yield DataTable(id="table")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(
            "NAME",
            "MODEL",
            "SERIAL",
            "MODE",
            "STATE",
            "PORT",
            "RELAY",
            "SINCE",
            "EXPIRES",
            "SUPPORT",
        )
        for i in range(ROWS):
            table.add_row(
                f"appliance-{i:04d}",
                "C695",
                f"0C4A1D8E{i:04d}-FCH2143V0AB",
                "TUNNEL",
                "ESTABLISHED",
                "25",
                "c.tunnels.rac.test",
                "12:00:00",
                "7d 00h",
                "",
            )
        table.focus()


async def keypress_latencies(presses: int, interval: float) -> list[float]:
    """ms from a `down` key to the repaint of the row the cursor moved to."""
    waiting: dict[int, float] = {}
    latencies: list[float] = []
    original = DataTable.render_line

    def render_line(table: DataTable[Any], y: int) -> Strip:
        strip = original(table, y)
        index = table.scroll_offset.y + y - 1  # line 0 is the header
        started = waiting.get(index)
        if started is not None and index == table.cursor_row:
            del waiting[index]
            latencies.append((time.perf_counter() - started) * 1000)
        return strip

    DataTable.render_line = render_line  # type: ignore[method-assign,assignment]
    try:
        app = BareTable()
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause()
            table = app.query_one(DataTable)
            driver = app._driver
            assert driver is not None
            for _ in range(presses):
                waiting[table.cursor_row + 1] = time.perf_counter()
                driver.send_message(events.Key("down", None))
                await asyncio.sleep(interval)  # the same typist as for the console
    finally:
        DataTable.render_line = original  # type: ignore[method-assign]
    return latencies
