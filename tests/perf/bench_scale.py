"""Scale: what a relay process holds. A fleet of agents (one `fleet_worker` process) brings its
tunnels up, then sits idle with keepalives at their defaults (agent 15 s, relay 15 s), while
the relay processes' CPU and RSS are read from /proc:

- relay memory per tunnel: RSS growth from before the first agent to the idle window,
  divided by the tunnels held;
- tunnels one relay process holds within an idle CPU budget (IDLE_BUDGET % of a core),
  from the measured idle CPU per tunnel;
- the same per node of a three-node cluster (`rac lab --relays 3`: real Redis, three
  `rac relay` processes on 127.0.0.1–3, `relay.connections = 2`), where each node also
  refreshes its routes in the directory; Redis's own CPU is reported beside it.

Everything on loopback, bounded: one fleet per configuration, the idle window fixed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.perf.bench_fleet import _process_cpu
from tests.perf.harness import Goal, Result, Samples
from tests.perf.rig import Missing, lab_process
from tui.engine.errors import RacError
from tui.engine.lab.cluster_lab import ClusterLab, find_redis_server

HAS_QUICK = True
APPLIANCES = 1000
IDLE_BUDGET = 5.0
"""% of one core a relay process may spend at idle: the budget the capacity row is read at."""
MEMORY_TARGET_KIB = 40.0
SETTLE = 5.0
"""Seconds between the last tunnel up and the idle window (write-behind enrolments, the
directory's first publication, the first keepalive replies)."""
BASELINE = 10.0
"""Seconds the relay processes are measured empty first: their fixed idle cost (timers, the
enrolment rescan of an empty agents directory) is not a cost per tunnel."""
PER_NODE_TARGET = 0.8
"""A cluster node may hold at most 20 % fewer tunnels at the budget than a lone relay."""


@dataclass(frozen=True, slots=True)
class Held:
    """One fleet held idle: what the relay processes spent and grew."""

    tunnels: int
    processes: int
    cpu_percent: float
    """Idle CPU of all relay processes together, % of one core."""
    empty_percent: float
    """The same before the first agent connected."""
    rss_growth_kib: float
    redis_cpu_percent: float
    setup_s: float

    @property
    def cpu_per_tunnel(self) -> float:
        """% of a core one idle tunnel adds to a relay."""
        return max(self.cpu_percent - self.empty_percent, 0.0) / self.tunnels

    @property
    def per_process_at_budget(self) -> float:
        """Tunnels one relay process holds within IDLE_BUDGET (its empty cost taken first)."""
        room = IDLE_BUDGET - self.empty_percent / self.processes
        return room / self.cpu_per_tunnel if self.cpu_per_tunnel > 0 else float("inf")

    @property
    def kib_per_tunnel(self) -> float:
        """RSS growth per tunnel."""
        return self.rss_growth_kib / self.tunnels


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _hold(
    lab_json: Path,
    state: Path,
    relays: list[int],
    redis: int | None,
    idle: float,
    connections: int,
) -> tuple[Held, dict[str, Any]]:
    """Bring the fleet up, let it settle, measure the relays over `idle` seconds."""
    empty0 = sum(_process_cpu(pid) for pid in relays)
    await asyncio.sleep(BASELINE)  # the empty window of the measurement protocol
    empty = 100 * (sum(_process_cpu(pid) for pid in relays) - empty0) / BASELINE
    before = sum(_rss_kib(pid) for pid in relays)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.perf.fleet_worker",
        str(lab_json),
        str(state),
        str(APPLIANCES),
        str(SETTLE + idle),
        "1",
        "new",
        "marks",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None

    async def line() -> dict[str, Any]:
        text = await process.stdout.readline()  # type: ignore[union-attr]
        if not text:
            error = await process.stderr.read() if process.stderr else b""
            raise RuntimeError(f"fleet_worker failed: {error.decode()[-2000:]}")
        result: dict[str, Any] = json.loads(text)
        return result

    try:
        async with asyncio.timeout(SETTLE + idle + 600):
            assert (await line()) == {"idle": "start"}
            await asyncio.sleep(SETTLE)  # part of the measurement protocol, not a wait on state
            grown = sum(_rss_kib(pid) for pid in relays) - before
            cpu0 = sum(_process_cpu(pid) for pid in relays)
            redis0 = _process_cpu(redis) if redis else 0.0
            started = asyncio.get_running_loop().time()
            assert (await line()) == {"idle": "end"}
            window = asyncio.get_running_loop().time() - started
            cpu1 = sum(_process_cpu(pid) for pid in relays)
            redis1 = _process_cpu(redis) if redis else 0.0
            result = await line()
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    tunnels = APPLIANCES * connections  # the worker waited for every one of them
    held = Held(
        tunnels=tunnels,
        processes=len(relays),
        cpu_percent=100 * (cpu1 - cpu0) / window,
        empty_percent=empty,
        rss_growth_kib=grown,
        redis_cpu_percent=100 * (redis1 - redis0) / window,
        setup_s=float(result["setup_s"]),
    )
    return held, result


async def one_node(folder: Path, idle: float) -> Held:
    """The lab's relay (`rac lab`, relay and DNS in one process), a fresh one."""
    async with lab_process(folder / "one") as info:
        lab_json = info.directory / "lab.json"
        pid = int(json.loads(lab_json.read_text())["pid"])
        held, _ = await _hold(lab_json, folder / "one-agents", [pid], None, idle, 1)
        return held


async def three_nodes(folder: Path, idle: float) -> Held:
    """`rac lab --relays 3`: three relay processes and Redis; every appliance holds two tunnels."""
    try:
        find_redis_server()
    except RacError as error:
        raise Missing(error.sentence) from None
    lab = ClusterLab(folder / "three", relays=3)
    info = await lab.start()
    try:
        pids = [node.pid for node in lab.nodes]
        redis = lab.redis.pid if lab.redis is not None else None
        held, _ = await _hold(
            info.directory / "lab.json", folder / "three-agents", pids, redis, idle, 2
        )
        return held
    finally:
        await lab.close()


async def run(repeats: int, quick: bool = False) -> list[Result]:
    """Three rows: memory per tunnel, tunnels per process at the budget, a cluster node's."""
    idle = 30.0 if quick else 60.0  # two (four) keepalive rounds at the default 15 s
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one = await one_node(folder, idle)
        three = await three_nodes(folder, idle)
    budget = f"{IDLE_BUDGET:g} % of a core"
    return [
        Result(
            f"relay memory per tunnel (RSS growth / tunnels, {one.tunnels} tunnels, one node)",
            Samples((one.kib_per_tunnel,), "KiB"),
            None,
            Goal.VALUE_AT_MOST,
            MEMORY_TARGET_KIB,
            note=f"three nodes: {three.kib_per_tunnel:.1f} KiB per tunnel "
            f"({three.tunnels} tunnels over 3 processes)",
            extra={"one": asdict(one), "three": asdict(three)},
        ),
        Result(
            f"tunnels one relay process holds within {budget} at idle (keepalives 15 s)",
            Samples((one.per_process_at_budget,), "tunnels"),
            None,
            Goal.VALUE_AT_LEAST,
            1000,
            note=f"{one.tunnels} tunnels held: {one.cpu_percent:.2f} % of a core over "
            f"{idle:.0f} s (empty: {one.empty_percent:.2f} %), "
            f"{1000 * one.cpu_per_tunnel:.2f} % per 1,000 tunnels",
        ),
        Result(
            f"tunnels per node within {budget}, three nodes (Redis directory) vs one",
            Samples((three.per_process_at_budget,), "tunnels"),
            Samples((one.per_process_at_budget,), "tunnels"),
            Goal.RATIO_AT_LEAST,
            PER_NODE_TARGET,
            note=f"{three.tunnels} tunnels ({APPLIANCES} appliances × 2) on 3 nodes: "
            f"{three.cpu_percent:.2f} % of a core for the three together (empty: "
            f"{three.empty_percent:.2f} %), {1000 * three.cpu_per_tunnel:.2f} % per 1,000 "
            f"tunnels, Redis "
            f"{three.redis_cpu_percent:.2f} %; the cluster of three holds "
            f"{3 * three.per_process_at_budget:.0f} within {budget} each",
        ),
    ]
