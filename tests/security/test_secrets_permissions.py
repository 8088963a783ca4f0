"""Local files: rac refuses a state dir or key another user owns or others may read or
write, and creates its own 0700/0600.

Before: a world-writable `--state-dir` was used as it was, and a support CA key another user
planted there was used to sign certificates.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import asyncssh
import pytest

from tests.conftest import LAB_C, LAB_C_SERIAL, RunningLab
from tests.rac_process import run
from tui.engine.secure_files import write_private


def _planted_lab_dir(tmp_path: Path) -> tuple[Path, asyncssh.SSHKey]:
    """A world-writable directory where another local user left a CA key of theirs."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    planted = asyncssh.generate_private_key("ssh-ed25519")
    (folder / "support_ca_ed25519").write_bytes(planted.export_private_key())
    (folder / "support_ca_ed25519").chmod(0o600)
    return folder, planted


async def test_a_world_writable_lab_dir_with_a_planted_ca_key_is_refused(tmp_path: Path) -> None:
    folder, _ = _planted_lab_dir(tmp_path)
    before = sorted(p.name for p in folder.iterdir())
    code, _out, err = await run("lab", "--state-dir", str(folder))
    assert code == 1
    assert err.startswith(f"rac: {folder} (the ")  # the lab's, or the state lock's words
    assert err.strip().endswith(
        "directory) may be written by other users (mode 0777): rac will not use it for seeds "
        f"and keys. Run `chmod 700 {folder}` if its contents are yours, or use another "
        "--state-dir."
    )
    assert sorted(p.name for p in folder.iterdir()) == before


async def test_support_connect_refuses_a_world_writable_lab_dir(
    lab: RunningLab, tmp_path: Path
) -> None:
    lab.info.directory.chmod(0o777)
    try:
        code, _, err = await run(
            "support",
            "connect",
            LAB_C_SERIAL,
            "--seed",
            "-",
            "--lab",
            "--state-dir",
            str(lab.info.directory),
            stdin="Xq7!-seed\n",
        )
    finally:
        lab.info.directory.chmod(0o700)
    assert code == 1 and "(the lab directory) may be written by other users" in err


async def test_agent_refuses_an_open_state_dir_and_creates_nothing(
    lab: RunningLab, tmp_path: Path
) -> None:
    for mode, words in ((0o777, "may be written"), (0o755, "may be read")):
        state = tmp_path / f"state-{mode:o}"
        state.mkdir()
        state.chmod(mode)
        code, _, err = await run(
            "agent",
            "--inventory",
            str(lab.info.inventory),
            "--enable",
            LAB_C,
            "--state-dir",
            str(state),
        )
        assert code == 1 and f"{state} (the state directory) {words} by other users" in err
        assert list(state.iterdir()) == []
        code, _, err = await run(
            "status", "--inventory", str(lab.info.inventory), "--state-dir", str(state)
        )
        assert code == 1 and "(the state directory)" in err


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to another user")
async def test_a_state_dir_of_another_user_is_refused(lab: RunningLab, tmp_path: Path) -> None:
    state = tmp_path / "theirs"
    state.mkdir(mode=0o700)
    os.chown(state, 65534, 65534)
    code, _, err = await run(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        LAB_C,
        "--state-dir",
        str(state),
    )
    assert code == 1 and f"{state} (the state directory) belongs to another user (uid 65534)" in err


async def test_key_files_others_may_read_are_refused(lab: RunningLab, tmp_path: Path) -> None:
    ca = tmp_path / "ca"
    ca.write_bytes(lab.info.support_ca_key.read_bytes())
    ca.chmod(0o644)
    key = tmp_path / "key"
    write_private(key, lab.info.engineer_key.read_bytes())
    code, _, err = await run(
        "support",
        "connect",
        LAB_C_SERIAL,
        "--seed",
        "-",
        "--relay",
        f"127.0.0.1:{lab.info.relay_ports['22']}",
        "--ca",
        str(ca),
        "--key",
        str(key),
        "--known-hosts",
        str(lab.info.known_hosts),
        stdin="Xq7!-seed\n",
    )
    assert (
        code == 1
        and f"{ca} (the support CA key) may be read by other users (mode 0644)" in err
        and "chmod 600" in err
    )


async def test_rac_creates_its_own_directories_0700_and_files_0600(
    lab: RunningLab, tmp_path: Path
) -> None:
    state = tmp_path / "fresh" / "state"
    code, _, _err = await run(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        "nobody-here",
        "--state-dir",
        str(state),
    )
    assert code == 2  # refused before anything is created
    assert not state.exists()
    from tui.engine.engine import Engine
    from tui.engine.inventory import load_inventory

    engine = Engine(load_inventory(lab.info.inventory), state)
    await engine.start()
    await engine.enable(LAB_C)
    await engine.shutdown()
    for path in [state, *state.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, path
        elif not path.name.endswith(".pub"):
            assert mode == 0o600, path
    for path in [lab.info.directory, *lab.info.directory.rglob("*")]:
        if path.is_dir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
