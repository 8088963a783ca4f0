"""Packet capture of one connection attempt to an appliance's relay, with tcpdump.

The reference advice is "if the connection fails, capture packets". This starts tcpdump with a
filter for the relay's addresses and port, makes one attempt (the agent's own port check),
stops, and says what the file holds. Without tcpdump, or without the right to capture, it says
what to install or which permission is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from tui.engine.errors import RacError, UsageError
from tui.engine.inventory import Inventory
from tui.engine.pcap_summary import CaptureSummary, summarize
from tui.engine.port_check import PortAnswer, check_port
from tui.engine.reasons import operator_sentence
from tui.engine.resolver import ResolveError, resolve
from tui.engine.secure_files import PRIVATE_FILE, ensure_private_dir
from tui.engine.states import Mode

READY_TIMEOUT = 10.0
TEARDOWN_TIMEOUT = 2.0


class CaptureUnavailable(RacError):
    """tcpdump is missing or may not capture here."""


@dataclass(frozen=True, slots=True)
class CaptureReport:
    """Where the capture is and what it shows."""

    path: Path
    host: str
    address: str
    port: int
    dialled: int
    attempt: PortAnswer
    summary: CaptureSummary

    @property
    def sentence(self) -> str:
        """One paragraph for the operator."""
        summary = self.summary
        parts = [f"Saved {summary.packets} packets to {self.path}."]
        if summary.first_syn is None:
            parts.append(f"No SYN to port {self.dialled} was captured.")
        else:
            answered = "answered" if summary.syn_answered else "not answered"
            parts.append(
                f"First SYN: {summary.first_syn.source}:{summary.first_syn.source_port}"
                f" → {self.address}:{self.dialled} ({answered})."
            )
        if summary.banner:
            parts.append(f"The relay's SSH banner came back: {summary.banner}")
        else:
            parts.append(f"No SSH banner came back (the port {self.attempt.outcome.value}).")
        return " ".join(parts)

    def to_json(self) -> dict[str, object]:
        """The `--json` form."""
        syn = self.summary.first_syn
        return {
            "path": str(self.path),
            "host": self.host,
            "address": self.address,
            "port": self.port,
            "dialled_port": self.dialled,
            "packets": self.summary.packets,
            "outcome": self.attempt.outcome.value,
            "first_syn": None
            if syn is None
            else {
                "from": f"{syn.source}:{syn.source_port}",
                "to": f"{syn.destination}:{syn.destination_port}",
                "answered": self.summary.syn_answered,
            },
            "ssh_banner": self.summary.banner or None,
        }


SBIN = "/usr/sbin:/sbin"


def tcpdump_path() -> str | None:
    """tcpdump on PATH (or in /usr/sbin, where Debian puts it), if installed."""
    return shutil.which("tcpdump") or shutil.which("tcpdump", path=SBIN)


async def capture_attempt(
    host: str, nameservers: tuple[str, ...], port: int, dialled: int, out: Path, *, seconds: float
) -> CaptureReport:
    """Capture one connection attempt to host:dialled (nominal `port`) into `out`."""
    tcpdump = tcpdump_path()
    if tcpdump is None:
        raise CaptureUnavailable(
            "tcpdump is not installed, so no packets can be captured: "
            "install it (Debian/Ubuntu: apt-get install tcpdump)."
        )
    try:
        resolution = await resolve(host, nameservers, timeout=seconds)
    except ResolveError as error:
        raise RacError(
            f"Nothing to capture: {operator_sentence(error.reason, host=host)}"
        ) from None
    address = resolution.addresses[0]
    hosts = " or ".join(f"host {a}" for a in resolution.addresses)
    ensure_private_dir(out.parent)
    process = await asyncio.create_subprocess_exec(
        tcpdump,
        "-i",
        "any",
        "-nn",
        "-l",
        "-U",
        "--immediate-mode",
        "--print",
        "-w",
        str(out),
        f"tcp port {dialled} and ({hosts})",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _wait_listening(process)
        attempt = await check_port(address, dialled, timeout=seconds)
        await _wait_teardown(process, attempt.local_port)
    finally:
        await _stop(process)
    return CaptureReport(out, host, address, port, dialled, attempt, _seal(out, dialled))


def _seal(out: Path, dialled: int) -> CaptureSummary:
    """Make the capture private (it holds traffic) and read it back."""
    out.chmod(PRIVATE_FILE)
    return summarize(out, dialled)


async def _wait_listening(process: asyncio.subprocess.Process) -> None:
    """tcpdump says "listening on …" once the capture runs; failing that, say why."""
    assert process.stderr is not None
    said: list[str] = []
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            while True:
                line = (await process.stderr.readline()).decode(errors="replace")
                if not line:
                    break
                said.append(line.strip())
                if "listening on" in line:
                    return
    except TimeoutError:
        pass
    await process.wait()
    complaint = " ".join(said) or "no output"
    if re.search(r"permission|not permitted|Operation not permitted", complaint, re.I):
        raise CaptureUnavailable(
            "tcpdump may not capture on this machine: run rac as root, or give tcpdump the "
            "capture capability (sudo setcap cap_net_raw,cap_net_admin=eip "
            f"{tcpdump_path()}). tcpdump said: {complaint}"
        )
    raise CaptureUnavailable(f"tcpdump did not start capturing: {complaint}")


async def _wait_teardown(process: asyncio.subprocess.Process, local_port: int) -> None:
    """Packets reach the file in order: once our FIN or RST is printed, the SYN and the
    banner before it are in the file too."""
    if not local_port:
        return
    assert process.stdout is not None
    ours = re.compile(rf"\.{local_port}[ :>].*Flags \[[^\]]*[FR]")
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(TEARDOWN_TIMEOUT):
            while line := await process.stdout.readline():
                if ours.search(line.decode(errors="replace")):
                    return


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(5):
                await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()


def default_capture_path(state_dir: Path, name: str, now: float | None = None) -> Path:
    """`STATE/captures/NAME-YYYYmmdd-HHMMSS.pcap`."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return state_dir / "captures" / f"{name}-{stamp}.pcap"


async def capture_appliance(
    inventory: Inventory,
    name: str,
    state_dir: Path,
    *,
    port: int | None = None,
    seconds: float = 5.0,
    out: Path | None = None,
) -> CaptureReport:
    """Capture an attempt to the relay of appliance `name` (its port unless given)."""
    appliance = inventory.get(name)
    if appliance.mode is Mode.SSHACCESS:
        raise UsageError(
            f"{name} has no tunnel of its own: it is reached through "
            f"{appliance.gateway}; capture that appliance's connection instead."
        )
    nominal = inventory.check_port(port) if port is not None else inventory.port_for(appliance)
    return await capture_attempt(
        inventory.relay_host(appliance),
        inventory.relay.nameservers,
        nominal,
        inventory.real_port(nominal),
        out or default_capture_path(state_dir, name),
        seconds=seconds,
    )
