"""Stock OpenSSH on loopback for interop tests: a real sshd, and `ssh` configured to use -J."""

from __future__ import annotations

import asyncio
import getpass
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    """A free loopback port, chosen by the OS."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sign_certificate(ca_key: Path, user_key: Path, *, identity: str, principal: str) -> Path:
    """`ssh-keygen -s CA -I identity -n principal` — the stock way to mint a support cert."""
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-s",
            str(ca_key),
            "-I",
            identity,
            "-n",
            principal,
            "-V",
            "-5m:+10m",
            f"{user_key}.pub",
        ],
        check=True,
        capture_output=True,
    )
    return user_key.with_name(user_key.name + "-cert.pub")


def copy_key(source: Path, folder: Path, name: str) -> Path:
    """A private key (and its .pub) copied with the 0600 mode ssh insists on."""
    target = folder / name
    shutil.copyfile(source, target)
    target.chmod(0o600)
    shutil.copyfile(f"{source}.pub", f"{target}.pub")
    return target


def client_config(folder: Path, key: Path, relay_known_hosts: Path) -> Path:
    """An ssh_config for the engineer: the relay pinned, appliances learned on first use."""
    config = folder / "ssh_config"
    config.write_text(f"""Host *
  IdentityFile {key}
  CertificateFile {key}-cert.pub
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking accept-new
  UserKnownHostsFile {folder / "appliance_known_hosts"} {relay_known_hosts}
  GlobalKnownHostsFile /dev/null
  ConnectTimeout 10
""")
    return config


async def ssh(config: Path, *args: str, timeout: float = 30) -> tuple[int, str, str]:
    """Run the stock ssh client; (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        "ssh",
        "-F",
        str(config),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@asynccontextmanager
async def sshd(
    folder: Path,
    *,
    ca_public_key: Path | None = None,
    principal: str = "",
    authorized_keys: Path | None = None,
    extra: str = "",
) -> AsyncIterator[int]:
    """A real sshd on 127.0.0.1 — trusting the support CA for `principal`, or the keys in
    `authorized_keys` — and yields its port. Its host key is `folder/ssh_host_ed25519_key`."""
    folder.mkdir(parents=True, exist_ok=True)
    host_key = folder / "ssh_host_ed25519_key"
    if not host_key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True
        )
    trust = f"AuthorizedKeysFile {authorized_keys or 'none'}\n"
    if ca_public_key is not None:
        principals = folder / "principals"
        principals.write_text(principal + "\n")
        trust += f"TrustedUserCAKeys {ca_public_key}\nAuthorizedPrincipalsFile {principals}\n"
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(f"""ListenAddress 127.0.0.1:{port}
HostKey {host_key}
PidFile {folder / "sshd.pid"}
{trust}{extra}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
LogLevel INFO
""")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        SSHD,
        "-D",
        "-e",
        "-f",
        str(config),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(15):
            while True:
                line = (await process.stderr.readline()).decode()
                assert line, "sshd exited before it listened"
                if "Server listening on" in line:
                    break
        yield port
    finally:
        process.terminate()
        await process.wait()


def login_name() -> str:
    """The local user an sshd on this machine will let in."""
    return getpass.getuser()
