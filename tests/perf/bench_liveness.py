"""Liveness with the default settings: how long a blackhole (packets stop, sockets stay open)
goes unnoticed by the agent and by the relay, how soon the tunnel is back after the path, DNS
or a relay restart storm returns, how long a tunnel takes to come up over slow links, and what
the keepalive costs at idle for 1,000 tunnels, new defaults against the old ones (asyncssh's
15 s × 3 on the agent, nothing on the relay) in the same run."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import tomli_w

from tests.chaos_proxy import ChaosProxy
from tests.faults.network.waiting import until
from tests.perf.bench_fleet import COUNT, _json_lines, _process_cpu
from tests.perf.fleet_worker import fleet_inventory
from tests.perf.harness import Goal, Result, Samples
from tests.recorder import EventRecorder
from tui.engine.engine import Engine
from tui.engine.inventory import load_inventory
from tui.engine.lab.dns_responder import DnsFault, DnsResponder
from tui.engine.lab.lab import Lab, LabInfo
from tui.engine.lab.lab_fleet import relay_names
from tui.engine.states import TunnelState
from tui.engine.toml_source import read_toml

HAS_QUICK = True
APPLIANCE = "mail-gw-1"
SERIAL = "0C4A1D8E2F61-FCH2143V0AB"
# Long enough for both sides to give up and the agent to sit in its backoff.
BLACKHOLE = 30.0
DETECT_WITHIN = 20.0
BACK_WITHIN = 5.0
SLOW_BANDWIDTH = 64 * 1024
DNS_OUTAGE = 40.0
STORM_TUNNELS = 21
STORM_RESTARTS = 10
STORM_GAP = 2.7


@asynccontextmanager
async def _through_proxy(
    folder: Path,
    **relay: Any,
) -> AsyncIterator[tuple[Engine, EventRecorder, Lab, ChaosProxy]]:
    """The lab, a chaos proxy in front of its port 25, an engine whose agents dial the proxy."""
    lab = Lab(folder / "lab")
    info = await lab.start()
    try:
        async with ChaosProxy(info.relay_ports["25"]) as proxy:
            data, _ = read_toml(info.inventory)
            data["relay"].update(relay)
            data["relay"]["port_map"] = {**info.relay_ports, "25": proxy.port}
            inventory = info.directory / "via-proxy.toml"
            inventory.write_text(tomli_w.dumps(data), encoding="utf-8")
            engine = Engine(load_inventory(inventory), folder / "state")
            events = EventRecorder()
            engine.subscribe(events)
            await engine.start()
            try:
                yield engine, events, lab, proxy
            finally:
                await engine.shutdown()
    finally:
        await lab.close()


async def _one_blackhole(folder: Path, rng: random.Random) -> dict[str, float]:
    """Up, a random moment into the keepalive cycle, blackhole, detect, restore, back."""
    async with _through_proxy(folder) as (engine, events, lab, proxy):
        return await _measure(engine, events, lab, proxy, rng)


async def _slow_link_up(folder: Path, one_way: float) -> float:
    """Seconds from enable to ESTABLISHED over `one_way` latency each way at 64 KiB/s."""
    async with _through_proxy(folder) as (engine, events, _lab, proxy):
        proxy.latency, proxy.bandwidth = one_way, SLOW_BANDWIDTH
        started = time.monotonic()
        await engine.enable(APPLIANCE)
        await events.wait_state(APPLIANCE, TunnelState.ESTABLISHED, timeout=120)
        return time.monotonic() - started


async def _dns_return(folder: Path) -> float:
    """Seconds from DNS answering again to ESTABLISHED, after an outage of DNS_OUTAGE."""
    dns = DnsResponder({name: ["127.0.0.1"] for name in relay_names()}, ttl=0)
    nameserver = await dns.start()
    try:
        async with _through_proxy(folder, nameservers=[nameserver]) as (engine, events, _l, proxy):
            await engine.enable(APPLIANCE)
            await events.wait_state(APPLIANCE, TunnelState.ESTABLISHED, timeout=30)
            dns.faults = {name: DnsFault.DROP for name in dns.zone}
            proxy.cut()
            await asyncio.sleep(DNS_OUTAGE)  # the outage itself
            mark = events.mark
            restored = time.monotonic()
            dns.faults = {}
            await events.wait_state(APPLIANCE, TunnelState.ESTABLISHED, after=mark, timeout=120)
            return time.monotonic() - restored
    finally:
        dns.close()


async def _restart_storm(folder: Path) -> dict[str, float]:
    """STORM_TUNNELS tunnels, STORM_RESTARTS relay restarts STORM_GAP apart: when is the last
    appliance back after the last restart, and how far behind the first is it?"""
    lab = Lab(folder / "lab")
    info = await lab.start()
    try:
        engine = Engine(
            load_inventory(fleet_inventory(info, STORM_TUNNELS, folder)), folder / "state"
        )
        events = EventRecorder()
        engine.subscribe(events)
        await engine.start()
        try:
            names = [s.name for s in engine.statuses()]
            for name in names:
                await engine.enable(name)
            for name in names:
                await events.wait_state(name, TunnelState.ESTABLISHED, timeout=60)
            for _ in range(STORM_RESTARTS - 1):
                await lab.restart_relay()
                await asyncio.sleep(STORM_GAP)  # the storm's own rhythm
            mark = events.mark
            last = time.monotonic()
            await lab.restart_relay()
            ups = []
            for name in names:
                await events.wait_state(name, TunnelState.ESTABLISHED, after=mark, timeout=120)
                ups.append(time.monotonic() - last)
            return {"last_s": max(ups), "spread_s": max(ups) - min(ups)}
        finally:
            await engine.shutdown()
    finally:
        await lab.close()


async def _measure(
    engine: Engine, events: EventRecorder, lab: Lab, proxy: ChaosProxy, rng: random.Random
) -> dict[str, float]:
    await engine.enable(APPLIANCE)
    await events.wait_state(APPLIANCE, TunnelState.ESTABLISHED, timeout=30)
    await asyncio.sleep(rng.uniform(0, 15))  # a random phase of the 15 s keepalive cycle
    mark = events.mark
    loop = asyncio.get_running_loop()
    started = loop.time()
    proxy.blackhole()
    relay_found = loop.create_task(
        until(
            lambda: lab.relay is None or lab.relay.routes.get(SERIAL) is None,
            90,
            "the relay drops the silent route",
        )
    )
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
        sys.executable,
        "-m",
        "tests.perf.liveness_lab",
        str(directory),
        mode,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
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
        await _json_lines(
            "-m",
            "tests.perf.fleet_worker",
            str(info.directory / "lab.json"),
            str(folder / "agents"),
            str(COUNT),
            "0",
            "1",
            mode,
            count=1,
            timeout=900,
        )
        relay_cpu: list[float] = []

        def sample(_line: dict[str, Any]) -> None:
            relay_cpu.append(_process_cpu(relay_pid))

        lines = await _json_lines(
            "-m",
            "tests.perf.fleet_worker",
            str(info.directory / "lab.json"),
            str(folder / "agents"),
            str(COUNT),
            str(idle),
            "1",
            mode,
            "marks",
            count=3,
            timeout=900,
            on_line=sample,
        )
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
        slow = {
            one_way: await _slow_link_up(folder / f"slow-{one_way}", one_way)
            for one_way in (0.3, 0.45)
        }
        dns_back = await _dns_return(folder / "dns")
        storm = await _restart_storm(folder / "storm")
        new_runs, old_runs = [], []
        for index in range(1 if quick else 2):  # interleaved: both see the same machine
            new_runs.append(await _idle(folder / f"new-{index}", "new", idle))
            old_runs.append(await _idle(folder / f"old-{index}", "old", idle))
    agent = Result(
        "blackhole found by the agent (defaults)",
        Samples(tuple(r["agent_s"] for r in runs), "s"),
        None,
        Goal.VALUE_AT_MOST,
        DETECT_WITHIN,
        note="random phase of the 15 s keepalive cycle; before: 58 s",
    )
    relay = Result(
        "blackhole found by the relay (route dropped)",
        Samples(tuple(r["relay_s"] for r in runs), "s"),
        None,
        Goal.VALUE_AT_MOST,
        DETECT_WITHIN,
        note="before: never while the path stayed silent",
    )
    back = Result(
        f"tunnel back after a {BLACKHOLE:.0f} s blackhole ends",
        Samples(tuple(r["back_s"] for r in runs), "s"),
        None,
        Goal.VALUE_AT_MOST,
        BACK_WITHIN,
        note="before: 39 s after 180 s (backoff)",
    )
    new_bytes = _median(new_runs, "idle_payload_bytes_per_s")
    new_segments = _median(new_runs, "idle_segments_per_s")
    old_bytes = _median(old_runs, "idle_payload_bytes_per_s")
    idle_row = Result(
        f"idle: {COUNT} tunnels, agent CPU, new keepalive vs old",
        Samples(tuple(r["idle_cpu_percent"] for r in new_runs), "% of a core"),
        Samples(tuple(r["idle_cpu_percent"] for r in old_runs), "% of a core"),
        Goal.RATIO_AT_MOST,
        1.0,
        note=(
            f"relay CPU {_median(new_runs, 'relay_cpu_percent'):.2f} % vs "
            f"{_median(old_runs, 'relay_cpu_percent'):.2f} %; keepalive "
            f"traffic {new_bytes / 1024:.1f} KiB/s TCP payload in "
            f"{new_segments:.0f} segments/s (old {old_bytes / 1024:.1f} KiB/s) "
            f"for {COUNT} tunnels"
        ),
        extra={"new": new_runs, "old": old_runs, "blackholes": runs},
    )
    slow_rows = [
        Result(
            f"tunnel up over {2000 * one_way:.0f} ms RTT at 64 KiB/s",
            Samples((took,), "s"),
            None,
            Goal.VALUE_AT_MOST,
            20.0,
            note=("before: 4.6 s" if one_way < 0.4 else "before: never (ssh-timeout forever)"),
        )
        for one_way, took in slow.items()
    ]
    dns_row = Result(
        f"tunnel back after a {DNS_OUTAGE:.0f} s DNS outage ends",
        Samples((dns_back,), "s"),
        None,
        Goal.VALUE_AT_MOST,
        BACK_WITHIN,
        note="before: 36 s in backoff",
    )
    storm_row = Result(
        f"restart storm ({STORM_RESTARTS} restarts, {STORM_TUNNELS} tunnels): "
        "last appliance back after the last restart",
        Samples((storm["last_s"],), "s"),
        None,
        Goal.VALUE_AT_MOST,
        BACK_WITHIN,
        note=f"spread first→last {storm['spread_s']:.2f} s; before: one "
        "appliance 13 s behind the others",
    )
    return [agent, relay, back, *slow_rows, dns_row, storm_row, idle_row]


def _median(runs: list[dict[str, Any]], key: str) -> float:
    values = sorted(r[key] for r in runs)
    return float(values[len(values) // 2])
