"""One process holding a fleet's agents: enable N appliances at once against a lab relay in
another process; report setup time, per-tunnel up times, RSS, and idle CPU and wakeups.

    python -m tests.perf.fleet_worker LAB_JSON STATE_DIR COUNT IDLE_S REPEATS [new|old [marks]]

Prints one JSON object per repeat (the engine is reused; appliances are disabled between).
`old` runs the keepalive as it was before the liveness work (asyncssh's own, 15 s × 3, no
sweep), for the idle-cost comparison; the idle window also counts the bytes on the wire.
With `marks`, a line `{"idle": "start"}` / `{"idle": "end"}` brackets the idle window, so the
caller can measure the relay's CPU over exactly that window.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

import tomli_w

from tui.engine.engine import Engine
from tui.engine.events import StateChanged
from tui.engine.inventory import load_inventory
from tui.engine.lab.lab import LabInfo
from tui.engine.states import TunnelState
from tui.engine.toml_source import read_toml

SERIES = "CXMS"


# asyncssh's keepalive as the agent used it before the liveness work.
OLD_KEEPALIVE = (15.0, 3)
# struct tcp_info (linux/tcp.h): bytes_acked and bytes_received (u64), segs_out, segs_in (u32).
TCP_INFO_TRAFFIC = struct.Struct("=QQII")
TCP_INFO_TRAFFIC_AT = 120


def fleet_inventory(info: LabInfo, count: int, folder: Path, mode: str = "new") -> Path:
    """The lab's relay settings with `count` appliances."""
    data, _ = read_toml(info.inventory)
    if mode == "old":
        data["relay"]["keepalive_interval"] = 0.0
    data["appliance"] = [
        {
            "name": f"appl-{i:04d}",
            "series": SERIES[i % 4],
            "model": "V100",
            "serial": f"BENCH{i:06d}-FCH{i:04d}",
        }
        for i in range(count)
    ]
    path = info.directory / f"fleet-{count}.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def rss_kib() -> int:
    """Resident set size of this process now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_and_wakeups() -> tuple[float, int]:
    """CPU seconds used and voluntary context switches (sleeps that were woken) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_nvcsw


def _sockets(engine: Engine, names: list[str]) -> list[socket.socket]:
    socks = []
    for name in names:
        agent = engine.agent(name)
        conn = agent._conn if agent is not None else None  # a benchmark looks inside
        sock = conn.get_extra_info("socket") if conn is not None else None
        if sock is not None:
            socks.append(sock)
    return socks


def wire_traffic(socks: list[socket.socket]) -> tuple[int, int]:
    """TCP payload bytes (sent and acked + received) and segments, over these sockets."""
    payload = segments = 0
    for sock in socks:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
        acked, received, out, into = TCP_INFO_TRAFFIC.unpack_from(info, TCP_INFO_TRAFFIC_AT)
        payload += acked + received
        segments += out + into
    return payload, segments


def use_old_keepalive(engine: Engine, names: list[str]) -> None:
    """The agent's keepalive as before: asyncssh's own timer per connection, 15 s × 3."""
    for name in names:
        agent = engine.agent(name)
        conn = agent._conn if agent is not None else None  # a benchmark looks inside
        if conn is not None:
            conn.set_keepalive(*OLD_KEEPALIVE)


async def one_setup(
    engine: Engine, names: list[str], idle: float, mode: str = "new", marks: bool = False
) -> dict[str, Any]:
    up_at: dict[str, float] = {}
    all_up = asyncio.Event()

    def watch(event: object) -> None:
        # With `relay.connections` > 1, up means every one of the appliance's tunnels.
        if (
            isinstance(event, StateChanged)
            and event.state is TunnelState.ESTABLISHED
            and all(link.state is TunnelState.ESTABLISHED for link in event.links)
        ):
            up_at.setdefault(event.appliance, time.perf_counter())
            if len(up_at) == len(names):
                all_up.set()

    # The only sink: the benchmark measures the engine, not a recorder keeping every event.
    unsubscribe = engine.subscribe(watch)
    before = rss_kib()
    cpu_before, _ = cpu_and_wakeups()
    started = time.perf_counter()
    await asyncio.gather(*(engine.enable(name) for name in names))
    await asyncio.wait_for(all_up.wait(), 300)
    took = time.perf_counter() - started
    cpu_setup = cpu_and_wakeups()[0] - cpu_before
    after = rss_kib()
    ups = sorted(t - started for t in up_at.values())
    result: dict[str, Any] = {
        "count": len(names),
        "setup_s": took,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "rss_per_tunnel_kib": (after - before) / len(names),
        "p50_s": ups[len(ups) // 2],
        "p99_s": ups[int(len(ups) * 0.99) - 1],
        "first_s": ups[0],
        "cpu_ms_per_tunnel": 1000 * cpu_setup / len(names),
    }
    if idle > 0:
        if mode == "old":
            use_old_keepalive(engine, names)
        socks = _sockets(engine, names)
        bytes0, segments0 = wire_traffic(socks)
        if marks:
            print(json.dumps({"idle": "start"}), flush=True)
        cpu0, woken0 = cpu_and_wakeups()
        wall0 = time.perf_counter()
        await asyncio.sleep(idle)  # the measurement window itself: nothing waits on state here
        cpu1, woken1 = cpu_and_wakeups()
        if marks:
            print(json.dumps({"idle": "end"}), flush=True)
        wall = time.perf_counter() - wall0
        bytes1, segments1 = wire_traffic(socks)
        result.update(
            idle_s=wall,
            idle_cpu_percent=100 * (cpu1 - cpu0) / wall,
            idle_wakeups_per_min=(woken1 - woken0) * 60 / wall,
            idle_payload_bytes_per_s=(bytes1 - bytes0) / wall,
            idle_segments_per_s=(segments1 - segments0) / wall,
            idle_sockets=len(socks),
        )
    await engine.disable_all()
    unsubscribe()
    return result


async def main(
    lab_json: Path,
    state_dir: Path,
    count: int,
    idle: float,
    repeats: int,
    mode: str = "new",
    marks: bool = False,
) -> None:
    info = LabInfo.from_json(json.loads(lab_json.read_text()))
    inventory = load_inventory(fleet_inventory(info, count, state_dir, mode))
    engine = Engine(inventory, state_dir)
    await engine.start()
    names = [a.name for a in inventory.appliance]
    for _ in range(repeats):
        print(json.dumps(await one_setup(engine, names, idle, mode, marks)), flush=True)
    await engine.shutdown()


if __name__ == "__main__":
    lab, state, count, idle, repeats = sys.argv[1:6]
    asyncio.run(
        main(
            Path(lab),
            Path(state),
            int(count),
            float(idle),
            int(repeats),
            sys.argv[6] if len(sys.argv) > 6 else "new",
            "marks" in sys.argv[7:],
        )
    )
