"""A relay config that validates but cannot start (issue 8, item 7): exit 2 with a sentence
naming the file and the field, and nothing left behind — no host key, no folder."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.rac_process import spawn


async def _start(folder: Path, **settings: Any) -> tuple[int, str, set[str]]:
    config = folder / "relay.toml"
    config.write_text(tomli_w.dumps({"listen": "127.0.0.1", "ports": [0], **settings}))
    before = {str(p.relative_to(folder)) for p in folder.rglob("*")}
    process = await spawn("relay", "--config", str(config))
    try:
        _, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    after = {str(p.relative_to(folder)) for p in folder.rglob("*")}
    assert process.returncode is not None
    return process.returncode, err.decode(), after - before


@pytest.mark.parametrize(
    ("prepare", "settings", "field", "words"),
    [
        (None, {"version": "OpenSSH_6.2\x01"}, "version", "printable ASCII"),
        (None, {"version": "x" * 300}, "version", "1-245 characters"),
        ("file:agents", {}, "agents_dir", "is not a directory"),
        ("dir:relay-audit.jsonl", {}, "audit_log", "is not a regular file"),
        ("file:logs", {"audit_log": "logs/audit.jsonl"}, "audit_log", "cannot be created"),
        ("text:relay_host_ed25519", {}, "host_key", "not an unencrypted OpenSSH private key"),
        ("dir:relay_host_ed25519", {}, "host_key", "cannot be read"),
        ("dir:engineers_authorized_keys", {}, "engineers", "cannot be used"),
    ],
)
async def test_a_config_that_cannot_start_names_file_and_field(
    tmp_path: Path, prepare: str | None, settings: dict[str, Any], field: str, words: str
) -> None:
    if prepare:
        kind, name = prepare.split(":")
        path = tmp_path / name
        if kind == "dir":
            path.mkdir()
        else:
            path.write_text("not what it should be\n")
    code, err, created = await _start(tmp_path, **settings)
    assert code == 2, err
    assert err.startswith(f"rac: {tmp_path / 'relay.toml'}"), err
    assert f"field {field}: " in err and words in err, err
    assert "Traceback" not in err and "unexpected error" not in err
    assert created == set(), created


async def test_a_port_in_use_leaves_nothing_behind(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, err, created = await _start(tmp_path, ports=[busy.getsockname()[1]])
    assert code == 1 and "cannot listen" in err, err
    assert created == set(), created


@pytest.mark.parametrize("kind", ["devzero", "fifo", "huge"])
async def test_a_config_that_is_not_a_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    config = tmp_path / "relay.toml"
    if kind == "devzero":
        config = Path("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(config)
    else:
        config.write_text("# padding\n" * 200_000)
    process = await spawn("relay", "--config", str(config))
    try:
        _, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 2, err
    assert err.decode().startswith(f"rac: {config}: "), err
