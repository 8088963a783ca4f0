"""Liveness with the default settings: how long a blackhole (packets stop, sockets stay open)
goes unnoticed by the agent and by the relay, how soon the tunnel is back after the path
returns, and what the keepalive costs at idle for 1,000 tunnels, new defaults against the old
ones (asyncssh's 15 s × 3 on the agent, nothing on the relay) in the same run."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import tomli_w

from tests.chaos_proxy import ChaosProxy
from tests.faults.waiting import until
from tests.perf.bench_fleet import COUNT, _json_lines, _process_cpu
from tests.perf.harness import Goal, Result, Samples
from tests.recorder import EventRecorder
from tui.engine.engine import Engine
from tui.engine.inventory import load_inventory
from tui.engine.lab.lab import Lab, LabInfo
from tui.engine.states import TunnelState
from tui.engine.toml_source import read_toml

HAS_QUICK = True
APPLIANCE = "mail-gw-1"
SERIAL = "0C4A1D8E2F61-FCH2143V0AB"
# Long enough for both sides to give up and the agent to sit in its backoff.
BLACKHOLE = 30.0
DETECT_WITHIN = 20.0
BACK_WITHIN = 5.0


async def _one_blackhole(folder: Path, rng: random.Random) -> dict[str, float]:
    """Up, a random moment into the keepalive cycle, blackhole, detect, restore, back."""
    lab = Lab(folder / "lab")
    info = await lab.start()
    try:
        async with ChaosProxy(info.relay_ports["25"]) as proxy:
            data, _ = read_toml(info.inventory)
            data["relay"]["port_map"] = {**info.relay_ports, "25": proxy.port}
            inventory = info.directory / "via-proxy.toml"
            inventory.write_text(tomli_w.dumps(data), encoding="utf-8")
            engine = Engine(load_inventory(inventory), folder / "state")
            events = EventRecorder()
            engine.subscribe(events)
            await engine.start()
            try:
                return await _measure(engine, events, lab, proxy, rng)
            finally:
                await engine.shutdown()
    finally:
        await lab.close()


async def _measure(engine: Engine, events: EventRecorder, lab: Lab, proxy: ChaosProxy,
                   rng: random.Random) -> dict[str, float]:
    await engine.enable(APPLIANCE)
    await events.wait_state(APPLIANCE, TunnelState.ESTABLISHED, timeout=30)
    await asyncio.sleep(rng.uniform(0, 15))  # a random phase of the 15 s keepalive cycle
    mark = events.mark
    loop = asyncio.get_running_loop()
    started = loop.time()
    proxy.blackhole()
    relay_found = loop.create_task(until(
        lambda: lab.relay is None or lab.relay.routes.get(SERIAL) is None, 90,
        "the relay drops the silent route"))
    await events.wait_state(APPLIANCE, TunnelState.RETRYING, after=mark, timeout=90)
    agent = loop.time() - started
    relay = await relay_found
    await asyncio.sleep(max(0.0, BLACKHOLE - (loop.time() - started)))  # the blackhole lasts
    mark = events.mark
    restored = loop.time()
    proxy.restore()
    await events.wait_state(APPLIANCE, TunnelState.ESTABLISHED, after=mark, timeout=90)
    return {"agent_s": agent, "relay_s": relay, "back_s": loop.time() - restored}


@asynccontextmanager
async def _liveness_lab(directory: Path, mode: str) -> AsyncIterator[tuple[LabInfo, int]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.perf.liveness_lab", str(directory), mode,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if not line:
            error = await process.stderr.read() if process.stderr else b""
            raise RuntimeError(f"the liveness lab did not start: {error.decode()}")
        yield LabInfo.from_json(json.loads(line)), process.pid
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def _idle(folder: Path, mode: str, idle: float) -> dict[str, Any]:
    """1,000 tunnels up, then `idle` seconds of nothing: agent and relay CPU, wire traffic.
    (A first run makes the appliance keys; the second one is measured.)"""
    async with _liveness_lab(folder / f"lab-{mode}", mode) as (info, relay_pid):
        await _json_lines("-m", "tests.perf.fleet_worker", str(info.directory / "lab.json"),
                          str(folder / "agents"), str(COUNT), "0", "1", mode, count=1,
                          timeout=900)
        relay_cpu: list[float] = []

        def sample(_line: dict[str, Any]) -> None:
            relay_cpu.append(_process_cpu(relay_pid))

        lines = await _json_lines("-m", "tests.perf.fleet_worker",
                                  str(info.directory / "lab.json"), str(folder / "agents"),
                                  str(COUNT), str(idle), "1", mode, "marks", count=3,
                                  timeout=900, on_line=sample)
        result = lines[-1]
        result["relay_cpu_percent"] = 100 * (relay_cpu[1] - relay_cpu[0]) / result["idle_s"]
        return result


async def run(repeats: int, quick: bool = False) -> list[Result]:
    """Detection (agent, relay), way back, idle cost new against old."""
    rng = random.Random(9)
    runs: list[dict[str, float]] = []
    idle = 20.0 if quick else 60.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for index in range(min(repeats, 3)):
            runs.append(await _one_blackhole(folder / f"blackhole-{index}", rng))
        new_runs, old_runs = [], []
        for index in range(1 if quick else 2):  # interleaved: both see the same machine
            new_runs.append(await _idle(folder / f"new-{index}", "new", idle))
            old_runs.append(await _idle(folder / f"old-{index}", "old", idle))
    agent = Result("blackhole found by the agent (defaults)",
                   Samples(tuple(r["agent_s"] for r in runs), "s"), None,
                   Goal.VALUE_AT_MOST, DETECT_WITHIN,
                   note="random phase of the 15 s keepalive cycle; before: 58 s")
    relay = Result("blackhole found by the relay (route dropped)",
                   Samples(tuple(r["relay_s"] for r in runs), "s"), None,
                   Goal.VALUE_AT_MOST, DETECT_WITHIN,
                   note="before: never while the path stayed silent")
    back = Result(f"tunnel back after a {BLACKHOLE:.0f} s blackhole ends",
                  Samples(tuple(r["back_s"] for r in runs), "s"), None,
                  Goal.VALUE_AT_MOST, BACK_WITHIN, note="before: 39 s after 180 s (backoff)")
    new_bytes = _median(new_runs, "idle_payload_bytes_per_s")
    new_segments = _median(new_runs, "idle_segments_per_s")
    old_bytes = _median(old_runs, "idle_payload_bytes_per_s")
    idle_row = Result(f"idle: {COUNT} tunnels, agent CPU, new keepalive vs old",
                      Samples(tuple(r["idle_cpu_percent"] for r in new_runs), "% of a core"),
                      Samples(tuple(r["idle_cpu_percent"] for r in old_runs), "% of a core"),
                      Goal.RATIO_AT_MOST, 1.0,
                      note=(f"relay CPU {_median(new_runs, 'relay_cpu_percent'):.2f} % vs "
                            f"{_median(old_runs, 'relay_cpu_percent'):.2f} %; keepalive "
                            f"traffic {new_bytes / 1024:.1f} KiB/s TCP payload in "
                            f"{new_segments:.0f} segments/s (old {old_bytes / 1024:.1f} KiB/s) "
                            f"for {COUNT} tunnels"),
                      extra={"new": new_runs, "old": old_runs, "blackholes": runs})
    return [agent, relay, back, idle_row]


def _median(runs: list[dict[str, Any]], key: str) -> float:
    values = sorted(r[key] for r in runs)
    return float(values[len(values) // 2])
