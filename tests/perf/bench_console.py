"""The console under churn: 1,000 real tunnels in the console's own process (the relay in
another), states changing at ~200 events/s by real reconnects; keypress → repaint latency of
the fleet table against a bare Textual app with a 1,000-row DataTable taking the same keys,
and the console's CPU when every tunnel is steady against the headless `rac agent` holding
the same 1,000 tunnels (both in the same run: only ratios hold from machine to machine)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from textual import events

from tests.perf.bare_table import keypress_latencies
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
ROUNDS = 3
"""Key rounds on each side; a p99 of 100 keys is their second worst, so one round's
p99 is chance: the rows compare the median of the rounds' p99s."""
WINDOWS = 3
"""Idle windows on each side (median compared)."""
IDLE_WINDOW = 15.0
"""One keepalive interval: every tunnel's keepalive falls once in each window."""
UP_WITHIN = 300.0
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


async def _agent_idle_cpu(
    inventory_path: Path, names: list[str], state_dir: Path, window: float, windows: int
) -> list[float]:
    """% of a core the headless `rac agent` uses holding the same tunnels, all steady."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui",
        "agent",
        "--inventory",
        str(inventory_path),
        "--enable",
        ",".join(names),
        "--state-dir",
        str(state_dir),
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert process.stdout is not None
    up: set[str] = set()
    try:
        try:
            async with asyncio.timeout(UP_WITHIN):
                while len(up) < len(names):
                    line = await process.stdout.readline()
                    if not line:
                        raise RuntimeError("rac agent ended before its tunnels were up")
                    record = json.loads(line)
                    if record.get("state") == "ESTABLISHED":
                        up.add(record["appliance"])
        except TimeoutError:
            raise RuntimeError(
                f"rac agent: {len(up)} of {len(names)} tunnels ESTABLISHED after {UP_WITHIN:g} s"
            ) from None
        drain = asyncio.create_task(_drain(process.stdout))
        await asyncio.sleep(2.0)  # let the last handshakes' work settle
        cpus = []
        for _ in range(windows):
            cpu0, wall0 = _process_cpu(process.pid), time.perf_counter()
            await asyncio.sleep(window)  # the measurement window itself
            cpus.append(100 * (_process_cpu(process.pid) - cpu0) / (time.perf_counter() - wall0))
        drain.cancel()
        return cpus
    finally:
        if process.returncode is None:
            process.kill()  # its orderly stop (disabling 1,000 in turn) is not what is measured
            await process.wait()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


def _process_cpu(pid: int) -> float:
    """CPU seconds of another process, to the nanosecond (Linux schedstat: its threads' time
    on a CPU; /proc/PID/stat counts 10 ms ticks, too coarse for a fraction of a percent)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


async def _measure(
    folder: Path, quick: bool
) -> tuple[list[list[float]], list[float], float, list[float]]:
    rounds: list[list[float]] = []
    idle_window = IDLE_WINDOW
    windows = 2 if quick else WINDOWS
    async with lab_process(folder / "lab") as info:
        inventory_path = fleet_inventory(info, COUNT, folder)
        inventory = load_inventory(inventory_path)
        app = RacApp(
            InventoryEnvironment(inventory, folder / "state"), settings=Settings(None), blink=False
        )
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
                await asyncio.sleep(2.0)  # the same settling as for the agent
                idle_cpu = []
                for _ in range(windows):
                    cpu0 = _cpu()
                    wall0 = time.perf_counter()
                    await asyncio.sleep(idle_window)  # the measurement window itself
                    idle_cpu.append(100 * (_cpu() - cpu0) / (time.perf_counter() - wall0))
                # churn, and keys pressed while it runs
                stop = asyncio.Event()
                counted[0] = 0
                churn_started = time.perf_counter()
                churn = asyncio.create_task(_churn(app, names, stop, counted))
                await asyncio.sleep(2.0)  # let the churn reach its pace before measuring
                driver = app._driver
                assert driver is not None
                table = app.screen.query_one(FleetTable)
                for _ in range(ROUNDS):
                    clock.latencies = []
                    clock.waiting.clear()
                    table.cursor_row = 0  # each round walks down from the top
                    await pilot.pause()
                    for _ in range(PRESSES if not quick else PRESSES // 2):
                        target = table.cursor_row + 1
                        clock.waiting[target] = time.perf_counter()
                        driver.send_message(events.Key("down", None))
                        await asyncio.sleep(0.05)  # a fast typist: 20 keys per second
                    rounds.append(clock.latencies)
                rate = counted[0] / (time.perf_counter() - churn_started)
                stop.set()
                await churn
        finally:
            clock.remove()
        # The reference after the console has closed (its tunnels stay enabled; the agent
        # takes them over with the same keys and state).
        agent_cpu = await _agent_idle_cpu(
            inventory_path,
            [a.name for a in inventory.appliance],
            folder / "state",
            idle_window,
            windows,
        )
    return rounds, idle_cpu, rate, agent_cpu


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)] if ordered else float("nan")


async def run(repeats: int, quick: bool = False) -> list[Result]:
    """Two rows, each against its reference from the same run."""
    presses = PRESSES if not quick else PRESSES // 2
    bare = [await keypress_latencies(presses, 0.05) for _ in range(ROUNDS // 2 + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        rounds, idle_cpu, rate, agent_cpu = await _measure(Path(tmp), quick)
    # The machine may have changed meanwhile: as many bare rounds after as before.
    bare += [await keypress_latencies(presses, 0.05) for _ in range(ROUNDS // 2 + 1)]
    latencies = [ms for one in rounds for ms in one]
    keys = Result(
        f"console: keypress → repaint p99 ({COUNT} rows, {rate:.0f} state events/s)",
        Samples(tuple(_p99(one) for one in rounds), "ms"),
        Samples(tuple(_p99(one) for one in bare), "ms"),
        Goal.RATIO_AT_MOST,
        1.5,
        note=(
            f"p99 of each round of {presses} keys; reference = bare Textual app, 1,000-row "
            f"DataTable, same keys, rounds before and after; console median "
            f"{statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms"
            if latencies
            else "no repaint seen"
        ),
        extra={"latencies_ms": rounds, "reference_ms": bare},
    )
    idle = Result(
        f"console idle CPU ({COUNT} steady tunnels in process)",
        Samples(tuple(idle_cpu), "% of a core"),
        Samples(tuple(agent_cpu), "% of a core"),
        Goal.RATIO_AT_MOST,
        1.2,
        note="reference = headless rac agent holding the same tunnels",
    )
    return [keys, idle]
