"""The relay cluster (`rac lab --relays 3`: real Redis, three `rac relay` processes):

- bytes through a cross-node hop against the same copy through the node holding the tunnel;
- what the route directory adds to a session's set-up (one lookup in Redis);
- failover: 1,000 appliances with two tunnels each, one node killed: how many cannot be reached
  right after, and how long until every second tunnel is back.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import tomli_w

from tests.openssh import sshd
from tests.perf.bench_throughput import _client_config, _copy, _wait_line
from tests.perf.harness import Goal, Result, Samples
from tests.perf.rig import (
    Missing,
    engineer_key_copy,
    require_openssh,
    ssh_target_inventory,
    start_bench_agent,
)
from tui.engine.engine import Engine
from tui.engine.errors import RacError
from tui.engine.events import Event, StateChanged
from tui.engine.inventory import load_inventory
from tui.engine.lab.cluster_lab import ClusterLab, find_redis_server
from tui.engine.lab.lab import LabInfo
from tui.engine.states import TunnelState
from tui.engine.toml_source import read_toml

HAS_QUICK = True
SERIAL = "0C4A1D8E9999-FCH2400CLSTR"
SEED = "Bench-Seed-42"
MIB = 1024**2
FLEET = 1000
CHECKS_IN_FLIGHT = 50
ROUTE_TTL = 30.0
BACKOFF_CAP = 60.0


def _require_redis() -> None:
    try:
        find_redis_server()
    except RacError as error:
        raise Missing(error.sentence) from None


async def _holder(lab: ClusterLab, serial: str, count: int = 1) -> list[str]:
    """Node ids holding `serial`, once `count` of them have published it."""
    observer = lab.directory_client("bench-observer")
    try:
        async with asyncio.timeout(30):
            while True:
                entries = await observer.lookup(serial)
                if len(entries) >= count:
                    return [entry.node_id for entry in entries]
                await asyncio.sleep(0.05)
    finally:
        await observer.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class _HopCpu:
    """CPU seconds the relay nodes spent on the copies: the holder when engineers landed on
    it, and landing node + holder when they landed elsewhere (noise-robust next to MB/s)."""

    local_holder: float = 0.0
    remote_landing: float = 0.0
    remote_holder: float = 0.0
    mib: float = 0.0
    """MiB copied per path."""

    def note(self) -> str:
        per = max(self.mib, 1.0)
        return (
            f"relay CPU per MiB: holder alone {self.local_holder / per * 1000:.1f} ms; "
            f"cross-node landing {self.remote_landing / per * 1000:.1f} ms + holder "
            f"{self.remote_holder / per * 1000:.1f} ms"
        )


async def throughput(
    lab: ClusterLab, info: LabInfo, folder: Path, size: int, repeats: int, cpu: _HopCpu
) -> tuple[list[float], list[float], list[float], list[float]]:
    """MB/s landing on the holder and landing elsewhere (interleaved), and channel set-up ms."""
    user = getpass.getuser()
    key, authorized = engineer_key_copy(info, folder)
    async with sshd(folder / "target", authorized_keys=authorized) as target_port:
        inventory = ssh_target_inventory(info, SERIAL, target_port, connections=1)
        agent = await start_bench_agent(inventory, folder / "agent", SEED)
        drain: asyncio.Task[None] | None = None
        try:
            assert agent.stdout is not None
            await _wait_line(agent.stdout, b'"ESTABLISHED"', 30)
            drain = asyncio.get_running_loop().create_task(_drain(agent.stdout))
            (holder_id,) = await _holder(lab, SERIAL)
            holder = next(n for n in lab.nodes if n.node_id == holder_id)
            other = next(n for n in lab.nodes if n.node_id != holder_id)
            config = _client_config(folder, key, [info.known_hosts])
            port = info.relay_ports["22"]
            local: list[float] = []
            remote: list[float] = []
            for _ in range(repeats):
                for node, speeds in ((holder, local), (other, remote)):
                    before = _cpu_seconds(node.pid), _cpu_seconds(holder.pid)
                    took = await _copy(
                        config, f"lab-engineer@{node.address}:{port}", [f"{user}@{SERIAL}"], size
                    )
                    speeds.append(size / took / 1e6)
                    landed = _cpu_seconds(node.pid) - before[0]
                    if node is holder:
                        cpu.local_holder += landed
                    else:
                        cpu.remote_landing += landed
                        cpu.remote_holder += _cpu_seconds(holder.pid) - before[1]
                cpu.mib += size / MIB
            local_setup = await _channel_setup(info, holder.address)
            remote_setup = await _channel_setup(info, other.address)
            return local, remote, local_setup, remote_setup
        finally:
            agent.terminate()
            if drain is None:
                await agent.communicate()
            else:
                await agent.wait()
                await drain


async def _drain(stream: asyncio.StreamReader) -> None:
    """Read the agent's event lines so that it never blocks on a full pipe."""
    while await stream.readline():
        pass


async def _channel_setup(info: LabInfo, address: str, count: int = 200) -> list[float]:
    """ms from asking a node for SERIAL:22 to the appliance's first bytes."""
    times = []
    async with await asyncssh.connect(
        address,
        info.relay_ports["22"],
        username="alice",
        client_keys=[asyncssh.read_private_key(info.engineer_key)],
        known_hosts=str(info.known_hosts),
        agent_path=None,
        config=None,
    ) as conn:
        for _ in range(count):
            started = time.perf_counter()
            reader, writer = await conn.open_connection(SERIAL, 22)
            await reader.readline()
            times.append((time.perf_counter() - started) * 1000)
            writer.close()
    return times


async def lookups(lab: ClusterLab, count: int) -> list[float]:
    """ms per route lookup in Redis, as a node makes it (a serial held by another node)."""
    observer = lab.directory_client("bench-lookup")
    try:
        times = []
        for _ in range(count):
            started = time.perf_counter()
            await observer.lookup(SERIAL)
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        await observer.close()


async def failover(
    lab: ClusterLab, info: LabInfo, folder: Path, fleet: int
) -> tuple[int, float, float, str]:
    """(unreachable right after the kill, seconds until every tunnel pair is whole again,
    seconds to bring the fleet up, the killed node)."""
    data, _ = read_toml(info.inventory)
    data["appliance"] = [
        {"name": f"f{i:04d}", "series": "C", "serial": f"0C4A1D{i:06d}-FLEET"} for i in range(fleet)
    ]
    inventory = info.directory / "fleet.toml"
    inventory.write_text(tomli_w.dumps(data))
    engine = Engine(load_inventory(inventory), folder / "fleet-state")
    pairs = _Pairs(engine)
    await engine.start()
    try:
        started = time.monotonic()
        for appliance in data["appliance"]:
            await engine.enable(appliance["name"], seed=SEED)
        await pairs.all_up(300)
        up_after = time.monotonic() - started
        await _holder(lab, data["appliance"][-1]["serial"], 2)
        counts = {node.address: 0 for node in lab.nodes}
        for status in engine.statuses():
            for link in status.links:
                counts[link.address] += 1
        victim = max(lab.nodes, key=lambda node: counts[node.address])
        survivor = next(node for node in lab.nodes if node is not victim)
        lab.kill_node(victim)
        killed = time.monotonic()
        unreachable = await _unreachable(
            info, survivor.address, [a["serial"] for a in data["appliance"]]
        )
        await pairs.all_up(BACKOFF_CAP + ROUTE_TTL + 60)
        whole_again = time.monotonic() - killed
        return unreachable, whole_again, up_after, f"{victim.node_id} ({counts[victim.address]})"
    finally:
        await engine.shutdown()


class _Pairs:
    """Counts appliances whose two tunnels are both up, from the engine's events."""

    def __init__(self, engine: Engine) -> None:
        self.whole: set[str] = set()
        self.changed = asyncio.Event()
        self._fleet = len(engine.statuses())
        self.unsubscribe = engine.subscribe(self._seen)

    def _seen(self, event: Event) -> None:
        if not isinstance(event, StateChanged) or len(event.links) != 2:
            return
        if all(link.state is TunnelState.ESTABLISHED for link in event.links):
            self.whole.add(event.appliance)
        else:
            self.whole.discard(event.appliance)
        self.changed.set()

    async def all_up(self, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while len(self.whole) < self._fleet:
                self.changed.clear()
                await self.changed.wait()


async def _unreachable(info: LabInfo, address: str, serials: list[str]) -> int:
    """How many serials give no SSH banner through the node at `address`."""
    gate = asyncio.Semaphore(CHECKS_IN_FLIGHT)
    async with await asyncssh.connect(
        address,
        info.relay_ports["22"],
        username="alice",
        client_keys=[asyncssh.read_private_key(info.engineer_key)],
        known_hosts=str(info.known_hosts),
        agent_path=None,
        config=None,
    ) as conn:

        async def reachable(serial: str) -> bool:
            async with gate:
                try:
                    reader, writer = await asyncio.wait_for(conn.open_connection(serial, 22), 20)
                    line = await asyncio.wait_for(reader.readline(), 20)
                    writer.close()
                    return bool(line.startswith(b"SSH-2.0-"))
                except (asyncssh.Error, OSError, TimeoutError):
                    return False

        results = await asyncio.gather(*(reachable(serial) for serial in serials))
    return sum(1 for ok in results if not ok)


async def run(repeats: int, quick: bool = False) -> list[Result]:
    """The three rows of the table."""
    require_openssh()
    _require_redis()
    size = (128 if quick else 512) * MIB
    fleet = 200 if quick else FLEET
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        lab = ClusterLab(folder / "lab", relays=3, route_ttl=ROUTE_TTL)
        info = await lab.start()
        try:
            cpu = _HopCpu()
            local, remote, local_setup, remote_setup = await throughput(
                lab, info, folder, size, repeats, cpu
            )
            lookup = await lookups(lab, 1000)
            unreachable, whole_again, up_after, victim = await failover(lab, info, folder, fleet)
        finally:
            await lab.close()
    added = statistics.median(remote_setup) - statistics.median(local_setup)
    return [
        Result(
            f"bytes through a cross-node hop ({size // MIB} MiB, ssh -J; reference: "
            "landing on the node holding the tunnel)",
            Samples(tuple(remote), "MB/s"),
            Samples(tuple(local), "MB/s"),
            Goal.RATIO_AT_LEAST,
            0.8,
            note=cpu.note(),
        ),
        Result(
            "route lookup in the directory (Redis, loopback, 1000 lookups)",
            Samples(tuple(lookup), "ms"),
            None,
            Goal.VALUE_AT_MOST,
            2.0,
            note=f"whole channel set-up: local {statistics.median(local_setup):.2f} ms, "
            f"cross-node {statistics.median(remote_setup):.2f} ms (+{added:.2f} ms "
            "for lookup and hop, pooled peer connection)",
        ),
        Result(
            f"failover: {fleet} appliances × 2 tunnels on 3 nodes, one node killed → "
            "appliances unreachable",
            Samples((float(unreachable),), "appliances"),
            None,
            Goal.VALUE_AT_MOST,
            0.0,
            note=f"killed {victim} tunnels; every pair whole again after "
            f"{whole_again:.1f} s (target ≤ backoff cap + TTL = "
            f"{BACKOFF_CAP + ROUTE_TTL:.0f} s); fleet up in {up_after:.1f} s",
            extra={
                "whole_again_s": whole_again,
                "whole_again_passed": whole_again <= BACKOFF_CAP + ROUTE_TTL,
            },
        ),
    ]
