"""Client names never reach the filesystem (issue 8, item 3; issue 9): a serial is looked up in
memory; a FIFO or a damaged file in the agents directory is named in the relay's log, its
serial is refused (`auth-rejected` at the agent), and the relay keeps answering."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncssh
import pytest

from tests.recorder import EventRecorder
from tests.security.relay_rig import connect_as, deployed_relay
from tests.security.test_route_hijack import GATEWAY, _site
from tui.engine.engine import Engine
from tui.engine.inventory import load_inventory
from tui.engine.keys import load_or_create_key
from tui.engine.reasons import Reason
from tui.engine.states import TunnelState

SERIAL = "0C4A1D8E3A02-FCH1911Z1KX"


async def _banner(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()


async def test_a_fifo_in_the_agents_directory_freezes_nothing(tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    async with deployed_relay(tmp_path / "relay", enrolment_refresh=0.2) as relay:
        os.mkfifo(relay.agents_dir / f"{SERIAL.lower()}.pub")
        named = await relay.wait_log(f"{SERIAL.lower()}.pub")
        assert "not a regular file" in named
        for _ in range(3):  # every port still greets, again and again
            for port in relay.ports:
                assert (await _banner(port)).startswith(b"SSH-2.0-")
        with pytest.raises(asyncssh.PermissionDenied):
            await connect_as(relay, SERIAL, [key])
        for port in relay.ports:
            assert (await _banner(port)).startswith(b"SSH-2.0-")


@pytest.mark.parametrize(
    "name", ["../relay", "..", "127.0.0.1", "a/b", "x", "abcd 0001", "ABCD.pub", "-rf-0001"]
)
async def test_path_like_user_names_are_refused_before_any_use(tmp_path: Path, name: str) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    folder = tmp_path / "relay"
    folder.mkdir()
    (folder / "relay.pub").write_bytes(key.export_public_key())  # agents/../relay.pub
    async with deployed_relay(folder) as relay:
        (relay.agents_dir / "x.pub").write_bytes(key.export_public_key())
        with pytest.raises(asyncssh.PermissionDenied):
            await connect_as(relay, name, [key])
    assert "Traceback" not in "".join(relay.log)


async def test_a_damaged_enrolment_is_auth_rejected_and_named(tmp_path: Path) -> None:
    async with deployed_relay(tmp_path / "relay") as relay:
        (relay.agents_dir / f"{GATEWAY.lower()}.pub").write_text("ssh-ed25519 garbage\n")
        state = tmp_path / "state"
        load_or_create_key(state / "keys" / "gw_ed25519", f"{GATEWAY} key")
        engine = Engine(load_inventory(_site(tmp_path / "site", relay)), state)
        events = EventRecorder()
        engine.subscribe(events)
        await engine.start()
        try:
            await engine.enable("gw")
            refused = await events.wait_state("gw", TunnelState.RETRYING, timeout=60)
            assert refused.reason == Reason.AUTH_REJECTED
        finally:
            await engine.shutdown()
        named = await relay.wait_log(f"{GATEWAY.lower()}.pub")
        assert "not an OpenSSH public key" in named and "refused" in named
