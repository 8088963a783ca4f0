"""Packet capture of a real connection attempt, read back with tcpdump itself."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunningLab
from tests.lab_names import LAB_C
from tui.engine import capture
from tui.engine.capture import CaptureUnavailable, capture_appliance
from tui.engine.inventory import load_inventory

RAC = [sys.executable, "-m", "tui"]


def require_tcpdump() -> str:
    """tcpdump's path; skip without it, except in CI (RAC_REQUIRE_TCPDUMP=1) where it fails."""
    path = capture.tcpdump_path()
    if path is None:
        if os.environ.get("RAC_REQUIRE_TCPDUMP") == "1":
            pytest.fail("tcpdump is required here but not installed")
        pytest.skip("tcpdump is not installed")
    return path


async def test_capture_holds_the_syn_and_the_banner(lab: RunningLab, tmp_path: Path) -> None:
    tcpdump = require_tcpdump()
    process = await asyncio.create_subprocess_exec(
        *RAC,
        "capture",
        LAB_C,
        "--inventory",
        str(lab.info.inventory),
        "--state-dir",
        str(tmp_path / "state"),
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    if process.returncode == 1 and b"may not capture" in err:
        pytest.skip("this machine does not let tcpdump capture")
    assert process.returncode == 0, err.decode()
    doc = json.loads(out)
    relay_port = lab.info.relay_ports["25"]
    pcap = Path(doc["path"])
    assert pcap.parent == tmp_path / "state" / "captures" and pcap.suffix == ".pcap"
    assert oct(pcap.stat().st_mode & 0o777) == "0o600"
    assert doc["first_syn"]["to"] == f"127.0.0.1:{relay_port}"
    assert doc["first_syn"]["answered"] is True
    assert doc["ssh_banner"] == "SSH-2.0-rac-relay_0.1"
    assert doc["packets"] >= 4

    # tcpdump reads its own file back: the SYN to the port and the banner bytes are in it
    readback = subprocess.run(
        [tcpdump, "-r", str(pcap), "-nn", "-A"], capture_output=True, text=True, check=True
    ).stdout
    assert f".{relay_port}: Flags [S]," in readback
    assert "SSH-2.0-rac-relay_0.1" in readback


async def test_missing_tcpdump_is_a_sentence(
    lab: RunningLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(capture, "SBIN", str(tmp_path / "empty"))
    inventory = load_inventory(lab.info.inventory)
    with pytest.raises(
        CaptureUnavailable,
        match=r"tcpdump is not installed.*apt-get install "
        r"tcpdump",
    ):
        await capture_appliance(inventory, LAB_C, tmp_path / "state")


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root to run the real tcpdump as an unprivileged user",
)
async def test_capture_without_permission_says_which_is_missing(
    lab: RunningLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tcpdump = require_tcpdump()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "tcpdump"
    # the real tcpdump, run as nobody: it is refused the capture device for real
    wrapper.write_text(
        f"#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups "
        f'--inh-caps=-all {tcpdump} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    inventory = load_inventory(lab.info.inventory)
    out = tmp_path / "world" / "x.pcap"
    out.parent.mkdir(mode=0o777)
    out.parent.chmod(0o777)
    with pytest.raises(
        CaptureUnavailable,
        match="tcpdump may not capture on this machine: run "
        "rac as root, or give tcpdump the capture "
        "capability",
    ):
        await capture.capture_attempt(
            inventory.relay_host(inventory.get(LAB_C)),
            inventory.relay.nameservers,
            25,
            lab.info.relay_ports["25"],
            out,
            seconds=2,
        )
