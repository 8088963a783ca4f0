"""The cluster on a real redis-server with TLS (`rediss://`, client certificates) and a
password (`requirepass`): routes are shared, and the password appears nowhere but in the
nodes' 0600 configs — not in a log line, an audit line, `lab.json`, an argv or a repr."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import tomli_w

from tests.cluster.conftest import (
    TEST_ROUTE_TTL,
    RunningCluster,
    both_links_up,
    published,
    require_redis,
    wait_a_little,
)
from tests.cluster.tls_certs import make_tls, redis_without_tls
from tests.conftest import LAB_C, LAB_C_SERIAL
from tests.rac_process import spawn
from tests.recorder import EventRecorder
from tui.engine.engine import Engine
from tui.engine.inventory import load_inventory
from tui.engine.lab.cluster_lab import ClusterLab, LabRedisTls
from tui.engine.relay.relay_config import load_relay_config
from tui.engine.support_client import open_support_connection

PASSWORD = "Redis-Pa55 w0rd/with:odd@chars"


def _require_tls() -> None:
    require_redis()
    why = redis_without_tls()
    if why:
        pytest.skip(why)


@pytest.fixture
async def tls_cluster(tmp_path: Path) -> AsyncIterator[RunningCluster]:
    """Redis with TLS, client certificates required and a password; three nodes."""
    _require_tls()
    lab = ClusterLab(
        tmp_path / "lab",
        relays=3,
        route_ttl=TEST_ROUTE_TTL,
        redis_password=PASSWORD,
        redis_tls=make_tls(tmp_path / "tls"),
    )
    info = await lab.start()
    try:
        yield RunningCluster(lab, info)
    finally:
        await lab.close()


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


async def test_nodes_share_routes_over_tls_and_the_password_shows_nowhere(
    tls_cluster: RunningCluster, tmp_path: Path
) -> None:
    cluster = tls_cluster
    engine = Engine(
        load_inventory(cluster.info.inventory), tmp_path / "state", first_retry_delay=0.2
    )
    events = EventRecorder()
    engine.subscribe(events)
    await engine.start()
    try:
        seed = await engine.enable(LAB_C)
        held = await both_links_up(engine, events, LAB_C)
        await published(cluster, LAB_C_SERIAL, 2)
        landing = next(n for n in cluster.lab.nodes if n.address not in held)
        relay, appliance, _ = await open_support_connection(
            cluster.route_to(landing, tmp_path), LAB_C_SERIAL, seed
        )
        assert "ENABLED" in str((await appliance.run("status")).stdout)
        appliance.close()
        relay.close()
    finally:
        await engine.shutdown()
    starts = [r for r in cluster.audit(landing) if r["action"] == "engineer-session-start"]
    assert starts and starts[-1]["hop_node"] in {cluster.node(a).node_id for a in held}

    # Where the password must not be: everything the lab and the nodes wrote or showed.
    seen = [(cluster.info.directory / "lab.json").read_bytes()]
    for node in cluster.lab.nodes:
        folder = node.config.parent
        seen += [(folder / "relay.log").read_bytes(), (folder / "relay-audit.jsonl").read_bytes()]
        seen.append(_cmdline(node.pid))
        config = load_relay_config(node.config)
        assert config.cluster is not None
        seen.append(repr(config).encode())
        assert (node.config.stat().st_mode & 0o777) == 0o600  # the one place it lives
    assert cluster.lab.redis is not None
    seen.append(_cmdline(cluster.lab.redis.pid))
    everything = b"\n".join(seen)
    assert PASSWORD.encode() not in everything
    assert b"Pa55" not in everything  # nor any part of it, quoted or not
    assert b"rediss://:***@127.0.0.1:" in everything  # the start line names it redacted
    lab_json = json.loads((cluster.info.directory / "lab.json").read_text())
    assert lab_json["redis"] == f"127.0.0.1:{cluster.lab.redis_port}"


async def _node_against(
    folder: Path, tls: LabRedisTls, redis: str, **cluster: str
) -> tuple[str, list[str]]:
    """Run one node against `redis` until it audits the directory as down; (its output,
    the audit's words for why)."""
    (folder / "peers_authorized_keys").write_text("")
    config = folder / "relay.toml"
    table = {"node_id": "n1", "redis": redis, "peer_listen": "127.0.0.1:0", **cluster}
    config.write_text(tomli_w.dumps({"listen": "127.0.0.1", "ports": [0], "cluster": table}))
    config.chmod(0o600)
    process = await spawn("relay", "--config", str(config))
    audit = folder / "relay-audit.jsonl"
    try:
        async with asyncio.timeout(30):
            while not audit.exists() or '"directory-down"' not in audit.read_text():
                assert process.returncode is None
                await wait_a_little()
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        out, err = await asyncio.wait_for(process.communicate(), 30)
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    why = [r["why"] for r in lines if r["action"] == "directory-down"]
    return (out + err).decode() + audit.read_text(), why


@pytest.mark.parametrize(
    ("password", "with_ca", "words"),
    [
        ("not-the-password", True, "it refused the password (check the password in [cluster]"),
        ("", True, "it refused the password"),
        (PASSWORD, False, "TLS with it failed ([SSL: CERTIFICATE_VERIFY_FAILED]"),
    ],
)
async def test_a_node_that_cannot_use_redis_says_why_without_the_password(
    tls_cluster: RunningCluster, tmp_path: Path, password: str, with_ca: bool, words: str
) -> None:
    tls = tls_cluster.lab.redis_tls
    assert tls is not None and tls.client_cert and tls.client_key
    secret = f":{password}@" if password else ""
    redis = f"rediss://{secret}127.0.0.1:{tls_cluster.lab.redis_port}/0"
    files = {"redis_tls_cert": str(tls.client_cert), "redis_tls_key": str(tls.client_key)}
    if with_ca:
        files["redis_tls_ca"] = str(tls.ca)
    folder = tmp_path / "lone-node"
    folder.mkdir()
    shown, why = await _node_against(folder, tls, redis.replace(PASSWORD, "PW"), **files)
    assert why and words in why[0], why
    assert f"cannot be used: {words}" in shown
    for secret_word in ("not-the-password", "PW@"):
        assert secret_word not in shown
