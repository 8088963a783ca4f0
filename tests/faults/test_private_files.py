"""One writer for every private file (keys, seeds, enrolments, settings): 0600 from the
first byte, never through a symbolic link, and on disk before it returns when asked to be
durable. A symlink planted where an appliance key goes stops the enable with a sentence
naming the path, and nothing is written through it."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import LAB_C, EngineFactory, RunningLab
from tui.engine.errors import RacError
from tui.engine.secure_files import write_private


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths `os.fsync` was called on, in order."""
    paths: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        paths.append(str(Path(f"/proc/self/fd/{fd}").readlink()))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    yield paths


@pytest.fixture
def no_chmod(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mode set after creation would leave a window where the file is readable."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a private file's mode is set at creation, never after")

    monkeypatch.setattr(os, "chmod", refuse)
    monkeypatch.setattr(os, "fchmod", refuse)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("no_chmod")
def test_a_private_file_is_0600_from_creation_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_private(tmp_path / "plain", "a")
        write_private(tmp_path / "durable", b"b", durable=True)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "plain") == 0o600 and _mode(tmp_path / "durable") == 0o600
    assert (tmp_path / "durable").read_bytes() == b"b"


def test_durable_syncs_the_file_and_its_directory_and_plain_does_not(
    tmp_path: Path, synced: list[str]
) -> None:
    write_private(tmp_path / "plain", "a")
    assert synced == []
    write_private(tmp_path / "durable", "b", durable=True)
    temporary, directory = synced
    assert Path(temporary).parent == tmp_path and Path(temporary).name.startswith(".durable.")
    assert directory == str(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["durable", "plain"]


@pytest.mark.parametrize("durable", [False, True])
@pytest.mark.parametrize("target_exists", [False, True])
def test_a_symlink_at_the_path_is_refused_and_nothing_goes_through_it(
    tmp_path: Path, durable: bool, target_exists: bool
) -> None:
    target = tmp_path / "elsewhere"
    if target_exists:
        target.write_text("theirs")
    link = tmp_path / "key"
    link.symlink_to(target)

    with pytest.raises(OSError) as refused:
        write_private(link, "secret", durable=durable)

    assert refused.value.filename == str(link)
    assert "symbolic link" in str(refused.value)
    assert link.is_symlink()
    assert (target.read_text() == "theirs") if target_exists else not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["key", *(["elsewhere"] if target_exists else [])]
    )


def test_a_link_planted_at_the_temporary_name_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("theirs")
    (tmp_path / f".key.{os.getpid()}.{threading.get_native_id()}.tmp").symlink_to(target)

    write_private(tmp_path / "key", "ours", durable=True)

    assert target.read_text() == "theirs"
    assert (tmp_path / "key").read_text() == "ours" and not (tmp_path / "key").is_symlink()


def _planted(state: Path, make: Callable[[Path], None]) -> tuple[Path, Path]:
    keys = state / "keys"
    state.mkdir(mode=0o700)
    keys.mkdir(mode=0o700)
    target = state.parent / "planted-target"
    make(target)
    link = keys / f"{LAB_C}_ed25519"
    link.symlink_to(target)
    return link, target


@pytest.mark.parametrize("target_exists", [False, True])
async def test_enable_refuses_a_symlink_planted_at_the_key_path(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path, target_exists: bool
) -> None:
    state = tmp_path / "state"

    def make(target: Path) -> None:
        if target_exists:
            target.write_text("someone else's file\n")

    link, target = _planted(state, make)
    engine, _ = await make_engine(state_dir=state)

    with pytest.raises(RacError) as refused:
        await engine.enable(LAB_C)

    assert str(link) in refused.value.sentence
    assert "symbolic link" in refused.value.sentence
    assert not engine.status(LAB_C).enabled
    assert link.is_symlink() and not link.with_name(link.name + ".pub").exists()
    if target_exists:
        assert target.read_text() == "someone else's file\n"
    else:
        assert not target.exists()


async def test_a_new_appliance_key_is_on_disk_when_enable_returns(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path, synced: list[str]
) -> None:
    engine, _ = await make_engine(state_dir=tmp_path / "state")
    await engine.enable(LAB_C)
    keys = tmp_path / "state" / "keys"
    synced_names = [Path(p).name for p in synced if Path(p).parent == keys]
    assert any(name.startswith(f".{LAB_C}_ed25519.") for name in synced_names)
    assert any(name.startswith(f".{LAB_C}_ed25519.pub.") for name in synced_names)
    assert str(keys) in synced
    for name in (f"{LAB_C}_ed25519", f"{LAB_C}_ed25519.pub"):
        assert _mode(keys / name) == 0o600
