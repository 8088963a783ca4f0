"""What the benchmarks stand on: a lab in another process, OpenSSH on loopback, keys."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import tomli_w

from tui.engine.lab.lab import LabInfo
from tui.engine.toml_source import read_toml

RAC = [sys.executable, "-m", "tui"]


class Missing(Exception):
    """A tool the benchmark needs is not installed (the sentence says which)."""


def require_openssh() -> None:
    """OpenSSH client and server, for the references."""
    if not shutil.which("ssh") or not (shutil.which("sshd") or Path("/usr/sbin/sshd").exists()):
        raise Missing(
            "OpenSSH is missing: install openssh-client and openssh-server "
            "(Debian: apt-get install openssh-client openssh-server)."
        )


@asynccontextmanager
async def lab_process(directory: Path) -> AsyncIterator[LabInfo]:
    """`rac lab` in its own process (the relay and DNS on their own core)."""
    process = await asyncio.create_subprocess_exec(
        *RAC,
        "lab",
        "--state-dir",
        str(directory),
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if not line:
            error = await process.stderr.read() if process.stderr else b""
            raise RuntimeError(f"rac lab did not start: {error.decode()}")
        yield LabInfo.from_json(json.loads(line))
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


def client_key(folder: Path, name: str = "bench_ed25519") -> Path:
    """An OpenSSH key pair without passphrase."""
    key = folder / name
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def known_hosts_for(folder: Path, sshd_folder: Path, port: int) -> Path:
    """known_hosts pinning the benchmark sshd."""
    public = (sshd_folder / "ssh_host_ed25519_key.pub").read_text().split()
    path = folder / f"known_hosts_{port}"
    path.write_text(f"[127.0.0.1]:{port} {public[0]} {public[1]}\n")
    return path


def ssh_options(key: Path, known_hosts: Path) -> list[str]:
    """Stock client options: this key, this pin, nothing from the user's config."""
    return [
        "-F",
        "/dev/null",
        "-i",
        str(key),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
    ]


def engineer_key_copy(info: LabInfo, folder: Path) -> tuple[Path, Path]:
    """The lab engineer's key copied for `ssh -i` (0600, with its .pub), and an
    authorized_keys naming it for the benchmark's target sshd."""
    key = folder / "engineer"
    shutil.copyfile(info.engineer_key, key)
    key.chmod(0o600)
    shutil.copyfile(f"{info.engineer_key}.pub", f"{key}.pub")
    authorized = folder / "authorized_keys"
    authorized.write_text(Path(f"{key}.pub").read_text())
    return key, authorized


def ssh_target_inventory(info: LabInfo, serial: str, target_port: int, **relay: int) -> Path:
    """The lab's inventory with one appliance, `bench`, whose (SERVICE) is the sshd on
    `target_port` (`relay` settings override the lab's, e.g. `connections=1`)."""
    data, _ = read_toml(info.inventory)
    data["relay"].update(relay)
    data["appliance"] = [
        {
            "name": "bench",
            "series": "C",
            "serial": serial,
            "service": f"ssh://127.0.0.1:{target_port}",
        }
    ]
    inventory = info.directory / "bench.toml"
    inventory.write_text(tomli_w.dumps(data))
    return inventory


async def start_bench_agent(
    inventory: Path, state_dir: Path, seed: str
) -> asyncio.subprocess.Process:
    """`rac agent` enabling `bench` with its JSON state lines on stdout."""
    return await asyncio.create_subprocess_exec(
        *RAC,
        "agent",
        "--inventory",
        str(inventory),
        "--enable",
        "bench",
        "--seed",
        seed,
        "--state-dir",
        str(state_dir),
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
