"""`rac lab --relays 3` after a node is killed: it comes back, and `lab.json` names it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tests.cluster.conftest import RunningCluster, require_redis


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _nodes(lab_json: Path) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in json.loads(lab_json.read_text())["nodes"]}


async def test_a_restarted_node_is_what_lab_json_names(cluster: RunningCluster) -> None:
    lab_json = cluster.info.directory / "lab.json"
    victim = cluster.lab.nodes[1]
    old = _nodes(lab_json)[victim.node_id]
    assert old["pid"] == victim.pid

    cluster.lab.kill_node(victim)
    assert victim.process is not None
    await victim.process.wait()
    await cluster.lab.start_node(victim)  # the lab's restart path

    new = _nodes(lab_json)[victim.node_id]
    assert new["pid"] == victim.pid != old["pid"]
    assert _alive(new["pid"]) and not _alive(old["pid"])
    assert new["peer"] == f"{victim.address}:{victim.peer_port}"
    assert not list(lab_json.parent.glob(".lab.json.*"))  # replaced whole, no leftovers


async def test_rac_lab_restarts_a_killed_node_and_rewrites_lab_json(tmp_path: Path) -> None:
    require_redis()
    lab_dir = tmp_path / "lab"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui",
        "lab",
        "--relays",
        "3",
        "--state-dir",
        str(lab_dir),
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        printed = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
        victim = printed["nodes"][2]
        os.kill(victim["pid"], signal.SIGKILL)

        said: list[str] = []
        async with asyncio.timeout(60):
            while not said or "restarted" not in said[-1]:
                said.append((await process.stderr.readline()).decode())
                assert said[-1], "rac lab ended"
        assert said[0].startswith(
            f"rac lab: relay {victim['id']} (pid {victim['pid']}) ended with signal 9 (SIGKILL); "
            "restarting it in 2 s"
        ), said
        now = _nodes(lab_dir / "lab.json")[victim["id"]]
        assert now["pid"] != victim["pid"] and _alive(now["pid"])
        assert f"pid {now['pid']}, peer hop {now['peer']}" in said[-1]
        untouched = _nodes(lab_dir / "lab.json")
        for node in printed["nodes"][:2]:
            assert untouched[node["id"]]["pid"] == node["pid"]
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    assert not _alive(now["pid"])  # the restarted node stopped with the lab
