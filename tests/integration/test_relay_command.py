"""`rac relay --config FILE` as deployed: enrolled appliance keys only, engineers from their
authorized_keys file, a bad config refused with its line."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import asyncssh
import tomli_w

from tests.lab_names import LAB_C_SERIAL
from tests.rac_process import spawn
from tests.recorder import EventRecorder
from tui.engine.engine import Engine
from tui.engine.inventory import load_inventory
from tui.engine.keys import load_or_create_key
from tui.engine.reasons import Reason
from tui.engine.states import TunnelState

SERIAL = LAB_C_SERIAL


async def _start_relay(folder: Path) -> tuple[asyncio.subprocess.Process, list[int]]:
    config = folder / "relay.toml"
    config.write_text(tomli_w.dumps({"listen": "127.0.0.1", "ports": [0, 0]}))
    process = await spawn("relay", "--config", str(config))
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    match = re.search(r"ports (\d+), (\d+);", line)
    assert match, line
    return process, [int(match.group(1)), int(match.group(2))]


def _inventory(folder: Path, relay_folder: Path, port: int) -> Path:
    load_or_create_key(folder / "support_ca", "support CA")
    relay_key = (relay_folder / "relay_host_ed25519.pub").read_text().split()
    (folder / "known_hosts").write_text(f"127.0.0.1 {relay_key[0]} {relay_key[1]}\n")
    path = folder / "inventory.toml"
    path.write_text(
        tomli_w.dumps(
            {
                "relay": {
                    "hosts": {"C": "127.0.0.1"},
                    "ports": [22],
                    "default_port": 22,
                    "port_map": {"22": port},
                    "support_ca": "support_ca.pub",
                    "known_hosts": "known_hosts",
                    "connect_timeout": 5,
                },
                "appliance": [{"name": "esa", "series": "C", "serial": SERIAL}],
            }
        )
    )
    return path


async def test_only_enrolled_appliances_get_a_route(tmp_path: Path) -> None:
    relay_folder = tmp_path
    process, ports = await _start_relay(relay_folder)
    try:
        site = tmp_path / "site"
        site.mkdir()
        inventory = load_inventory(_inventory(site, relay_folder, ports[0]))
        engine = Engine(inventory, tmp_path / "state")
        events = EventRecorder()
        engine.subscribe(events)
        await engine.start()
        await engine.enable("esa")
        refused = await events.wait_state("esa", TunnelState.RETRYING)
        assert refused.reason == Reason.AUTH_REJECTED
        assert "enrol the appliance key" in refused.detail
        await engine.disable("esa")

        # the vendor enrols the appliance's public key under its serial
        public = (tmp_path / "state" / "keys" / "esa_ed25519.pub").read_bytes()
        (relay_folder / "agents" / f"{SERIAL.lower()}.pub").write_bytes(public)
        mark = events.mark
        await engine.enable("esa")
        await events.wait_state("esa", TunnelState.ESTABLISHED, after=mark)

        # an engineer key that is not in the engineers file is turned away
        stranger = asyncssh.generate_private_key("ssh-ed25519")
        try:
            await asyncssh.connect(
                "127.0.0.1",
                ports[1],
                username="mallory",
                client_keys=[stranger],
                known_hosts=None,
                agent_path=None,
                config=None,
            )
        except asyncssh.PermissionDenied:
            pass
        else:
            raise AssertionError("a stranger got into the relay")
        await engine.shutdown()
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    audit = (relay_folder / "relay-audit.jsonl").read_text()
    assert '"action": "auth-rejected"' in audit and '"action": "agent-up"' in audit


async def test_a_bad_relay_config_is_refused_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "relay.toml"
    config.write_text('listen = "127.0.0.1"\nports = [22, "ssh"]\n')
    process = await spawn("relay", "--config", str(config))
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert err.decode().startswith(f"rac: {config}, line 2, field ports[1]: ")
