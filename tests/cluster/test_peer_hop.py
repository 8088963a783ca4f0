"""The node-to-node hop: node keys only, local routes only (a hop never hops again)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh
import pytest

from tests.cluster.conftest import RunningCluster, both_links_up, published, wait_a_little
from tests.conftest import LAB_C, LAB_C_SERIAL
from tests.recorder import EventRecorder
from tui.engine.engine import Engine
from tui.engine.lab.cluster_lab import LabNode


def _peer(node: LabNode) -> tuple[str, int]:
    return node.address, node.peer_port


async def _hop_as(
    node: LabNode, username: str, key: asyncssh.SSHKey
) -> asyncssh.SSHClientConnection:
    host, port = _peer(node)
    return await asyncssh.connect(
        host,
        port,
        username=username,
        client_keys=[key],
        known_hosts=None,
        agent_path=None,
        config=None,
        preferred_auth="publickey",
    )


async def test_the_hop_refuses_a_serial_the_node_does_not_hold_itself(
    cluster: RunningCluster, cluster_engine: tuple[Engine, EventRecorder]
) -> None:
    engine, events = cluster_engine
    await engine.enable(LAB_C)
    held = await both_links_up(engine, events, LAB_C)
    await published(cluster, LAB_C_SERIAL, 2)
    bystander = next(n for n in cluster.lab.nodes if n.address not in held)
    holder = cluster.node(held[0])
    asker = cluster.node(held[1])
    key = asyncssh.read_private_key(asker.config.parent / "peer_ed25519")

    async with await _hop_as(bystander, asker.node_id, key) as conn:
        # The bystander knows from Redis where the serial is, and still does not go there.
        with pytest.raises(asyncssh.ChannelOpenError, match="not connected to this relay node"):
            await conn.open_connection(LAB_C_SERIAL, 22)
    async with await _hop_as(holder, asker.node_id, key) as conn:
        reader, writer = await conn.open_connection(LAB_C_SERIAL, 22)
        assert (await reader.readline()).startswith(b"SSH-2.0-")
        writer.close()
    refused = [r for r in cluster.audit(bystander) if r["action"] == "peer-no-route"]
    assert refused and refused[-1]["node"] == asker.node_id
    assert not [r for r in cluster.audit(bystander) if r["action"] == "hop-failed"]


async def test_engineer_and_agent_keys_cannot_use_the_hop(
    cluster: RunningCluster, cluster_engine: tuple[Engine, EventRecorder], tmp_path: Path
) -> None:
    engine, events = cluster_engine
    await engine.enable(LAB_C)
    await both_links_up(engine, events, LAB_C)
    node = cluster.lab.nodes[0]
    engineer = asyncssh.read_private_key(cluster.info.engineer_key)
    agent = asyncssh.read_private_key(tmp_path / "state" / "keys" / f"{LAB_C}_ed25519")
    other_node = cluster.lab.nodes[1]
    node_key = asyncssh.read_private_key(other_node.config.parent / "peer_ed25519")

    for username, key in [
        ("alice", engineer),
        (other_node.node_id, engineer),
        (LAB_C_SERIAL, agent),
        (other_node.node_id, agent),
        (cluster.lab.nodes[2].node_id, node_key),
    ]:  # a node key, wrong name
        with pytest.raises(asyncssh.PermissionDenied):
            await _hop_as(node, username, key)
    async with asyncio.timeout(10):  # the node writes its audit line as the socket closes
        while len([r for r in cluster.audit(node) if r["action"] == "peer-auth-rejected"]) < 5:
            await wait_a_little()
    assert not [r for r in cluster.audit(node) if r["action"] == "peer-login"]


async def test_a_node_key_is_no_engineer_key(
    cluster: RunningCluster, cluster_engine: tuple[Engine, EventRecorder]
) -> None:
    engine, events = cluster_engine
    await engine.enable(LAB_C)
    held = await both_links_up(engine, events, LAB_C)
    node = cluster.node(held[0])
    key = asyncssh.read_private_key(cluster.lab.nodes[1].config.parent / "peer_ed25519")
    # The lab enrols unknown keys as appliances on first use; an appliance opens nothing.
    try:
        conn = await asyncssh.connect(
            node.address,
            cluster.info.relay_ports["22"],
            username="alice",
            client_keys=[key],
            known_hosts=None,
            agent_path=None,
            config=None,
        )
    except asyncssh.PermissionDenied:
        return
    async with conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_connection(LAB_C_SERIAL, 22)
