"""Only regular files of bounded size are read, and every config problem exits 2 naming
file, line and field before anything is created.

Before: an inventory or config path to /dev/zero or a FIFO hung or exhausted memory.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import LAB_C, RunningLab
from tests.rac_process import run


def _odd_file(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A path that is not a small regular file, and what rac must call it."""
    if kind == "device":
        return Path("/dev/zero"), "is a character device, not a regular file"
    if kind == "fifo":
        path = tmp_path / "inventory.fifo"
        os.mkfifo(path)
        return path, "is a FIFO (named pipe), not a regular file"
    if kind == "directory":
        path = tmp_path / "inventory.d"
        path.mkdir()
        return path, "is a directory, not a regular file"
    path = tmp_path / "huge.toml"
    with path.open("wb") as handle:
        handle.truncate(2 * 1024 * 1024)
    return path, f"is {2 * 1024 * 1024} bytes long; at most 1048576 are read"


@pytest.mark.parametrize("kind", ["device", "fifo", "directory", "huge"])
async def test_inventory_and_relay_config_must_be_small_regular_files(
    tmp_path: Path, kind: str
) -> None:
    path, called = _odd_file(tmp_path, kind)
    state = tmp_path / "state"
    for args in (
        ("agent", "--inventory", str(path), "--enable", "x", "--state-dir", str(state)),
        ("status", "--inventory", str(path), "--state-dir", str(state)),
        ("relay", "--config", str(path)),
    ):
        started = time.monotonic()
        code, _out, err = await run(*args, timeout=20)
        assert time.monotonic() - started < 10
        assert code == 2, err
        assert err.strip() == f"rac: {path}: {called}.", err
        assert not state.exists()


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ("support_ca", "device"),
        ("support_ca", "fifo"),
        ("known_hosts", "fifo"),
        ("known_hosts", "directory"),
    ],
)
async def test_files_the_inventory_names_must_be_small_regular_files(
    lab: RunningLab, tmp_path: Path, field: str, kind: str
) -> None:
    path, called = _odd_file(tmp_path, kind)
    inventory = lab.inventory_with("odd.toml", **{field: str(path)})
    state = tmp_path / "state"
    code, _, err = await run(
        "agent",
        "--inventory",
        str(inventory),
        "--enable",
        LAB_C,
        "--state-dir",
        str(state),
        timeout=20,
    )
    assert code == 2, err
    line = next(
        n
        for n, text in enumerate(inventory.read_text().splitlines(), start=1)
        if text.startswith(f"{field} =")
    )
    assert err.startswith(f"rac: {inventory}, line {line}, field relay.{field}: {path} ")
    assert called in err
    assert not state.exists()


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        (
            "proxy",
            "http://engineer:Pw-77@proxy.example:0",
            "'http://engineer:***@proxy.example:0' has a port outside 1-65535",
        ),
        ("connect_timeout", float("inf"), "Input should be a finite number"),
        ("lifetime", "91d", "91d is longer than the maximum of 90 days (90d)"),
    ],
)
async def test_inventory_values_out_of_bounds_are_located(
    lab: RunningLab, tmp_path: Path, field: str, value: object, said: str
) -> None:
    inventory = lab.inventory_with("bounds.toml", **{field: value})
    state = tmp_path / "state"
    code, _, err = await run(
        "agent", "--inventory", str(inventory), "--enable", LAB_C, "--state-dir", str(state)
    )
    line = next(
        n
        for n, text in enumerate(inventory.read_text().splitlines(), start=1)
        if text.startswith(f"{field} =")
    )
    assert code == 2
    assert err.startswith(f"rac: {inventory}, line {line}, field relay.{field}: ")
    assert said in err and "Pw-77" not in err
    assert not state.exists()


async def test_a_key_given_as_known_hosts_is_refused_without_quoting_it(
    lab: RunningLab, tmp_path: Path
) -> None:
    inventory = lab.inventory_with("keyed.toml", known_hosts=str(lab.info.support_ca_key))
    code, _, err = await run(
        "agent",
        "--inventory",
        str(inventory),
        "--enable",
        LAB_C,
        "--state-dir",
        str(tmp_path / "state"),
    )
    assert code == 2
    assert f"field relay.known_hosts: {lab.info.support_ca_key}, line " in err
    assert "is not an OpenSSH known_hosts entry" in err
    key_text = lab.info.support_ca_key.read_text().splitlines()[1:-1]
    assert not [line for line in key_text if line[:20] in err]
