"""A cluster node's own files are checked with every other path before anything starts:
`peer_key` and `peers_authorized_keys` that cannot be used give one sentence naming the
path (and the line), exit 2, and nothing created or listening."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import asyncssh
import pytest
import tomli_w

from tests.cluster.tls_certs import make_tls
from tests.rac_process import spawn

PEER_KEY = "peer_ed25519"
PEERS = "peers_authorized_keys"


def _node_line(node: str) -> str:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=node)
    return key.export_public_key().decode().strip()


def _write_peers(folder: Path, text: str) -> None:
    (folder / PEERS).write_text(text)


def _write_config(folder: Path, redis: str, **more: str) -> Path:
    config = folder / "relay.toml"
    if config.exists():
        return config  # the case wrote its own
    cluster = {
        **more,
        "node_id": "node-a",
        "redis": redis,
        "peer_listen": "127.0.0.1:0",
        "peer_key": PEER_KEY,
        "peers_authorized_keys": PEERS,
    }
    config.write_text(tomli_w.dumps({"listen": "127.0.0.1", "ports": [0], "cluster": cluster}))
    return config


async def _start(folder: Path) -> tuple[int, str, str, set[str]]:
    """Run `rac relay --config` on a cluster config in `folder`; (exit code, stdout, stderr,
    paths created)."""
    config = _write_config(folder, "redis://:s3cret@127.0.0.1:1/0")
    before = {str(p.relative_to(folder)) for p in folder.rglob("*")}
    process = await spawn("relay", "--config", str(config))
    try:
        out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    after = {str(p.relative_to(folder)) for p in folder.rglob("*")}
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode(), after - before


def _peers_missing(folder: Path) -> None:
    return None


def _peers_a_directory(folder: Path) -> None:
    (folder / PEERS).mkdir()


def _peers_a_fifo(folder: Path) -> None:
    os.mkfifo(folder / PEERS)


def _peers_line_3_garbage(folder: Path) -> None:
    _write_peers(folder, f"# the nodes\n{_node_line('node-a')}\nssh-ed25519 not-base64 node-b\n")


def _peers_line_2_without_node(folder: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    _write_peers(folder, f"{_node_line('node-a')}\n{key.export_public_key().decode()}")


def _peers_line_1_private_key(folder: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519", comment="node-a")
    _write_peers(folder, key.export_private_key().decode())


def _good_peers(folder: Path) -> None:
    _write_peers(folder, _node_line("node-a") + "\n")


def _peer_key_open_to_the_group(folder: Path) -> None:
    _good_peers(folder)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="node-a")
    (folder / PEER_KEY).write_bytes(key.export_private_key())
    (folder / PEER_KEY).chmod(0o640)


def _peer_key_world_readable(folder: Path) -> None:
    _peer_key_open_to_the_group(folder)
    (folder / PEER_KEY).chmod(0o604)


def _peer_key_a_directory(folder: Path) -> None:
    _good_peers(folder)
    (folder / PEER_KEY).mkdir(mode=0o700)


def _peer_key_garbage(folder: Path) -> None:
    _good_peers(folder)
    (folder / PEER_KEY).write_text("not a key\n")
    (folder / PEER_KEY).chmod(0o600)


def _tls_key_open_to_others(folder: Path) -> None:
    _good_peers(folder)
    tls = make_tls(folder / "tls")
    assert tls.client_cert is not None and tls.client_key is not None
    tls.client_key.chmod(0o644)
    _write_config(
        folder,
        "rediss://:s3cret@127.0.0.1:1/0",
        redis_tls_ca=str(tls.ca),
        redis_tls_cert=str(tls.client_cert),
        redis_tls_key=str(tls.client_key),
    )


def _tls_ca_not_a_certificate(folder: Path) -> None:
    _good_peers(folder)
    (folder / "ca.crt").write_text("not a certificate\n")
    _write_config(folder, "rediss://:s3cret@127.0.0.1:1/0", redis_tls_ca="ca.crt")


@pytest.mark.parametrize(
    ("prepare", "field", "words"),
    [
        (_peers_missing, "cluster.peers_authorized_keys", f"{PEERS} does not exist"),
        (_peers_a_directory, "cluster.peers_authorized_keys", "is a directory"),
        (_peers_a_fifo, "cluster.peers_authorized_keys", "FIFO"),
        (_peers_line_3_garbage, "cluster.peers_authorized_keys", f"{PEERS}, line 3, is not"),
        (_peers_line_2_without_node, "cluster.peers_authorized_keys", "line 2, names no node"),
        (_peers_line_1_private_key, "cluster.peers_authorized_keys", "line 1, is not"),
        (_peer_key_open_to_the_group, "cluster.peer_key", "(mode 0640)"),
        (_peer_key_world_readable, "cluster.peer_key", "(mode 0604)"),
        (_peer_key_a_directory, "cluster.peer_key", "is a directory"),
        (_peer_key_garbage, "cluster.peer_key", "not an unencrypted OpenSSH private key"),
        (_tls_key_open_to_others, "cluster.redis_tls_key", "(mode 0644)"),
        (_tls_ca_not_a_certificate, "cluster.redis_tls_ca", "holds no PEM certificate"),
    ],
)
async def test_unusable_node_key_files_stop_the_relay_before_it_starts(
    tmp_path: Path, prepare: Callable[[Path], None], field: str, words: str
) -> None:
    prepare(tmp_path)
    code, out, err, created = await _start(tmp_path)
    assert code == 2, err
    assert err.startswith(f"rac: {tmp_path / 'relay.toml'}, line "), err
    assert f"field {field}: " in err and words in err, err
    assert err.count("\n") == 1, err  # one sentence
    assert "Traceback" not in err and "s3cret" not in err + out
    assert out == ""  # nothing listened
    assert created == set(), created  # no host key, no node key, no audit log


async def test_a_peers_file_nobody_may_read_is_refused(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads a file of mode 000: run as another user to test this")
    _good_peers(tmp_path)
    (tmp_path / PEERS).chmod(0)
    code, _, err, created = await _start(tmp_path)
    assert code == 2 and "cannot be used (cannot be opened (Permission denied))" in err, err
    assert created == set()


async def test_a_missing_node_key_is_made_once_the_checks_pass(tmp_path: Path) -> None:
    _good_peers(tmp_path)
    created = await asyncio.wait_for(_start_and_stop(tmp_path), 60)
    assert {PEER_KEY, f"{PEER_KEY}.pub"} <= created
    assert (tmp_path / PEER_KEY).stat().st_mode & 0o777 == 0o600
    key = asyncssh.read_private_key(tmp_path / PEER_KEY)
    assert key.get_comment() == "node-a"


async def _start_and_stop(folder: Path) -> set[str]:
    """Start a node whose files are fine (Redis absent: it serves local routes), wait for its
    cluster line, stop it; the paths it created."""
    config = _write_config(folder, "redis://127.0.0.1:1/0")
    before = {str(p.relative_to(folder)) for p in folder.rglob("*")}
    process = await spawn("relay", "--config", str(config))
    assert process.stdout is not None
    try:
        while True:
            line = await process.stdout.readline()
            assert line, "the relay stopped before its cluster line"
            if line.startswith(b"cluster node node-a"):
                break
    finally:
        process.terminate()
        await process.communicate()
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} - before
