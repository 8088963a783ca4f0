"""The console under churn: 1,000 real tunnels in the console's own process (the relay in
another), states changing at ~200 events/s by real reconnects; keypress → repaint latency of
the fleet table, and the console's CPU when every tunnel is steady."""

from __future__ import annotations

import asyncio
import contextlib
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

from textual import events

from tests.perf.fleet_worker import fleet_inventory
from tests.perf.harness import Goal, Result, Samples
from tests.perf.rig import lab_process
from tui.app import RacApp
from tui.engine.events import Event, StateChanged
from tui.engine.inventory import load_inventory
from tui.engine.states import TunnelState
from tui.environment import InventoryEnvironment
from tui.settings import Settings
from widgets.fleet_table import FleetTable

COUNT = 1000
EVENTS_PER_SECOND = 200
PRESSES = 100
HAS_QUICK = True


class _RepaintClock:
    """Notes when the fleet table paints the row the cursor was sent to."""

    def __init__(self) -> None:
        self.waiting: dict[int, float] = {}
        self.latencies: list[float] = []
        self._original = FleetTable.render_line

    def install(self) -> None:
        clock = self
        original = self._original

        def render_line(table: FleetTable, y: int):  # type: ignore[no-untyped-def]
            strip = original(table, y)
            index = table.scroll_offset.y + y - 1
            started = clock.waiting.get(index)
            if started is not None and index == table.cursor_row:
                del clock.waiting[index]
                clock.latencies.append((time.perf_counter() - started) * 1000)
            return strip

        FleetTable.render_line = render_line  # type: ignore[method-assign,assignment]

    def remove(self) -> None:
        FleetTable.render_line = self._original  # type: ignore[method-assign]


async def _churn(app: RacApp, names: list[str], stop: asyncio.Event, counted: list[int]) -> None:
    """Reconnect random tunnels on another port, paced to ~EVENTS_PER_SECOND state events."""
    rng = random.Random(5)
    ports = (22, 443)
    started = time.perf_counter()
    moves = 0
    while not stop.is_set() and moves < 100_000:
        elapsed = time.perf_counter() - started
        if counted[0] < EVENTS_PER_SECOND * elapsed:
            name = rng.choice(names)
            moves += 1
            status = app.engine.status(name)
            if status.state is TunnelState.ESTABLISHED:
                port = ports[moves % 2]
                app.call_engine(app.engine.set_port(name, port))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.005)  # pacing tick of the load generator


async def _measure(folder: Path, quick: bool) -> tuple[list[float], float, float]:
    latencies: list[float] = []
    async with lab_process(folder / "lab") as info:
        inventory = load_inventory(fleet_inventory(info, COUNT, folder))
        app = RacApp(InventoryEnvironment(inventory, folder / "state"), settings=Settings(None),
                     blink=False)
        clock = _RepaintClock()
        clock.install()
        try:
            async with app.run_test(size=(160, 50)) as pilot:
                up: set[str] = set()
                all_up = asyncio.Event()
                counted = [0]

                def watch(event: Event) -> None:
                    if isinstance(event, StateChanged):
                        counted[0] += 1
                        if event.state is TunnelState.ESTABLISHED:
                            up.add(event.appliance)
                            if len(up) == COUNT:
                                all_up.set()

                app.engine.subscribe(watch)
                names = [a.name for a in inventory.appliance]
                await asyncio.gather(*(app.engine.enable(name) for name in names))
                await asyncio.wait_for(all_up.wait(), 300)
                await pilot.pause()
                # idle: every tunnel steady, the console showing the fleet
                idle_window = 10.0 if quick else 30.0
                cpu0 = _cpu()
                wall0 = time.perf_counter()
                await asyncio.sleep(idle_window)  # the measurement window itself
                idle_cpu = 100 * (_cpu() - cpu0) / (time.perf_counter() - wall0)
                # churn, and keys pressed while it runs
                stop = asyncio.Event()
                counted[0] = 0
                churn_started = time.perf_counter()
                churn = asyncio.create_task(_churn(app, names, stop, counted))
                await asyncio.sleep(2.0)  # let the churn reach its pace before measuring
                driver = app._driver
                assert driver is not None
                table = app.screen.query_one(FleetTable)
                for _ in range(PRESSES if not quick else PRESSES // 2):
                    target = table.cursor_row + 1
                    clock.waiting[target] = time.perf_counter()
                    driver.send_message(events.Key("down", None))
                    await asyncio.sleep(0.05)  # a fast typist: 20 keys per second
                rate = counted[0] / (time.perf_counter() - churn_started)
                stop.set()
                await churn
                latencies = clock.latencies
        finally:
            clock.remove()
    return latencies, idle_cpu, rate


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(repeats: int, quick: bool = False) -> list[Result]:
    """Two rows: keypress → repaint under churn, and idle CPU."""
    with tempfile.TemporaryDirectory() as tmp:
        latencies, idle_cpu, rate = await _measure(Path(tmp), quick)
    ordered = sorted(latencies)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)] if ordered else float("nan")
    keys = Result(f"console: keypress → repaint p99 ({COUNT} rows, {rate:.0f} state events/s)",
                  Samples((p99,), "ms"), None, Goal.VALUE_AT_MOST, 50.0,
                  note=(f"median {statistics.median(ordered):.1f} ms, max {ordered[-1]:.1f} ms, "
                        f"{len(ordered)} keys" if ordered else "no repaint seen"),
                  extra={"latencies_ms": latencies})
    idle = Result(f"console idle CPU ({COUNT} steady tunnels in process)",
                  Samples((idle_cpu,), "% of a core"), None, Goal.VALUE_AT_MOST, 2.0)
    return [keys, idle]
