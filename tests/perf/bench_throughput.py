"""Bytes across the relay: a bulk copy through a support session, engineer → relay → agent →
the appliance's sshd, against the same path built from OpenSSH (`ssh -J` through a loopback
sshd to an `ssh -R` agent, to sshd). The engineer and the appliance's sshd are stock OpenSSH
in both; only the relay and the agent differ."""

from __future__ import annotations

import asyncio
import getpass
import tempfile
import time
from pathlib import Path

from tests.openssh import free_port, sshd
from tests.perf.harness import Goal, Result, Samples
from tests.perf.rig import (
    engineer_key_copy,
    lab_process,
    require_openssh,
    ssh_target_inventory,
    start_bench_agent,
)

HAS_QUICK = True
SERIAL = "0C4A1D8E9999-FCH2400BENCH"
SEED = "Bench-Seed-42"
GIB = 1024**3


def _client_config(folder: Path, key: Path, known: list[Path]) -> Path:
    learned = folder / "learned_known_hosts"
    config = folder / "ssh_config"
    config.write_text(f"""Host *
  IdentityFile {key}
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking accept-new
  UserKnownHostsFile {learned} {" ".join(str(k) for k in known)}
  GlobalKnownHostsFile /dev/null
""")
    return config


async def _copy(config: Path, jump: str, target: list[str], size: int) -> float:
    """Seconds to push `size` zero bytes through `ssh -J jump target 'cat > /dev/null'`."""
    command = (
        f"head -c {size} /dev/zero | ssh -F {config} -J {jump} {' '.join(target)} 'cat > /dev/null'"
    )
    started = time.perf_counter()
    process = await asyncio.create_subprocess_shell(
        command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    took = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"copy failed: {err.decode()[-500:]}")
    return took


async def _wait_line(stream: asyncio.StreamReader, needle: bytes, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while needle not in await stream.readline():
            pass


async def rac_path(folder: Path, size: int, repeats: int) -> list[float]:
    """MB/s through rac's relay and agent."""
    user = getpass.getuser()
    async with lab_process(folder / "lab") as info:
        key, authorized = engineer_key_copy(info, folder)
        async with sshd(folder / "target", authorized_keys=authorized) as target_port:
            inventory = ssh_target_inventory(info, SERIAL, target_port)
            agent = await start_bench_agent(inventory, folder / "agent", SEED)
            try:
                assert agent.stdout is not None
                await _wait_line(agent.stdout, b'"ESTABLISHED"', 30)
                config = _client_config(folder, key, [info.known_hosts])
                jump = f"lab-engineer@127.0.0.1:{info.relay_ports['22']}"
                speeds = []
                for _ in range(repeats):
                    took = await _copy(config, jump, [f"{user}@{SERIAL}"], size)
                    speeds.append(size / took / 1e6)
                return speeds
            finally:
                agent.terminate()
                await agent.wait()


async def openssh_path(folder: Path, size: int, repeats: int) -> list[float]:
    """MB/s through an OpenSSH relay (sshd) and an OpenSSH agent (`ssh -N -R`)."""
    user = getpass.getuser()
    key = folder / "openssh_key"
    proc = await asyncio.create_subprocess_exec(
        "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)
    )
    await proc.wait()
    authorized = folder / "openssh_authorized_keys"
    authorized.write_text(Path(f"{key}.pub").read_text())
    async with (
        sshd(folder / "relay-sshd", authorized_keys=authorized) as relay_port,
        sshd(folder / "target-sshd", authorized_keys=authorized) as target_port,
    ):
        known = []
        for name, port in (("relay-sshd", relay_port), ("target-sshd", target_port)):
            public = (folder / name / "ssh_host_ed25519_key.pub").read_text().split()
            path = folder / f"known_{name}"
            path.write_text(f"[127.0.0.1]:{port} {public[0]} {public[1]}\n")
            known.append(path)
        config = _client_config(folder, key, known)
        forward = free_port()
        agent = await asyncio.create_subprocess_exec(
            "ssh",
            "-F",
            str(config),
            "-v",
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            f"127.0.0.1:{forward}:127.0.0.1:{target_port}",
            "-p",
            str(relay_port),
            f"{user}@127.0.0.1",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert agent.stderr is not None
            await _wait_line(agent.stderr, b"remote forward success", 30)
            # the jumped-to target is the agent's forward on the relay host; same host key
            known[1].write_text(known[1].read_text().replace(f"]:{target_port} ", f"]:{forward} "))
            speeds = []
            for _ in range(repeats):
                took = await _copy(
                    config,
                    f"{user}@127.0.0.1:{relay_port}",
                    ["-p", str(forward), f"{user}@127.0.0.1"],
                    size,
                )
                speeds.append(size / took / 1e6)
            return speeds
        finally:
            agent.terminate()
            await agent.wait()


async def run(repeats: int, quick: bool = False) -> Result:
    """The row of the table."""
    require_openssh()
    size = GIB // 4 if quick else GIB
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        rac = await rac_path(folder, size, repeats)
        reference = await openssh_path(folder, size, repeats)
    return Result(
        f"bytes across the relay ({size // 2**20} MiB, ssh -J … 'cat > /dev/null')",
        Samples(tuple(rac), "MB/s"),
        Samples(tuple(reference), "MB/s"),
        Goal.RATIO_AT_LEAST,
        1.1,
        note="engineer ↔ relay: AES-GCM on both paths (OpenSSH's client picks it)",
    )
