"""`[cluster]` in `rac relay --config`: located errors, no password anywhere, outage start-up."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.cluster.conftest import require_redis, wait_a_little
from tui.engine.errors import RacError
from tui.engine.lab.cluster_lab import find_redis_server, shared_free_ports

PASSWORD = "s3cret-pw"


async def _relay(config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui",
        "relay",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.parametrize(
    ("table", "line", "field"),
    [
        (f'node_id = "n1"\nredis = "http://:{PASSWORD}@10.0.0.1:6379"\n', 4, "cluster.redis"),
        ('node_id = "n 1"\n', 3, "cluster.node_id"),
        ('node_id = "n1"\npeer_listen = "4767"\n', 4, "cluster.peer_listen"),
        ('redis = "redis://127.0.0.1:6379"\n', 2, "cluster.node_id"),
        (
            f'node_id = "n1"\nredis = "redis://:{PASSWORD}@10.0.0.1:6379"\n'
            'redis_tls_ca = "ca.crt"\n',
            2,
            "cluster",
        ),
    ],
)
async def test_a_bad_cluster_table_is_refused_with_its_line(
    tmp_path: Path, table: str, line: int, field: str
) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(f'listen = "127.0.0.1"\n[cluster]\n{table}')
    process = await _relay(config)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert err.decode().startswith(f"rac: {config}, line {line}, field {field}: ")
    assert PASSWORD not in (out + err).decode()
    assert "Traceback" not in err.decode()


async def test_a_node_starts_while_redis_is_down_and_never_shows_the_password(
    tmp_path: Path,
) -> None:
    require_redis()
    (tmp_path / "peers_authorized_keys").write_text("")
    (redis_port,) = shared_free_ports(["127.0.0.1"], 1)  # nothing listens there
    config = tmp_path / "relay.toml"
    config.write_text(
        'listen = "127.0.0.1"\nports = [0]\n[cluster]\nnode_id = "n1"\n'
        f'redis = "redis://:{PASSWORD}@127.0.0.1:{redis_port}/0"\n'
        'peer_listen = "127.0.0.1:0"\nroute_ttl = 3.0\n'
    )
    process = await _relay(config)
    assert process.stdout is not None
    try:
        first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        second = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert first.startswith("rac relay listening on 127.0.0.1")
        assert second.startswith("cluster node n1: peer hop on 127.0.0.1:")
        assert f"redis://:***@127.0.0.1:{redis_port}/0" in second
        audit = tmp_path / "relay-audit.jsonl"
        async with asyncio.timeout(15):
            while '"directory-down"' not in audit.read_text(encoding="utf-8"):
                await wait_a_little()
    finally:
        process.terminate()
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    everything = first + second + (out + err).decode() + audit.read_text(encoding="utf-8")
    assert PASSWORD not in everything
    actions = [json.loads(line)["action"] for line in audit.read_text().splitlines()]
    assert actions[:2] == ["relay-start", "cluster-start"] and "relay-stop" in actions


def test_without_redis_server_the_lab_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(RacError, match="install the Debian package redis-server"):
        find_redis_server()
