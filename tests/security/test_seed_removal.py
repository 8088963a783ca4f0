"""A seed that no longer opens anything leaves the disk at once: after a new seed, a disable
or the end of the lifetime, no file under the state dir holds the old seed (the journal is
rewritten then, not only compacted at the next start)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LAB_C, EngineFactory
from tui.engine.states import TunnelState


def _files_holding(state_dir: Path, seed: str) -> list[Path]:
    needle = seed.encode()
    return [path for path in state_dir.rglob("*") if path.is_file() and needle in path.read_bytes()]


async def test_new_seed_disable_and_expiry_remove_the_old_seed_from_disk(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    engine, events = await make_engine(state_dir=state_dir)
    first = await engine.enable(LAB_C, seed="first-Seed-4711")
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    assert _files_holding(state_dir, first) == [state_dir / "appliances.jsonl"]

    second = await engine.new_seed(LAB_C, "second-Seed-0815")
    assert _files_holding(state_dir, first) == []
    assert _files_holding(state_dir, second) == [state_dir / "appliances.jsonl"]

    await engine.disable(LAB_C)
    assert _files_holding(state_dir, second) == []

    third = await engine.enable(LAB_C, seed="third-Seed-1234", lifetime=0.3)
    assert _files_holding(state_dir, third) == [state_dir / "appliances.jsonl"]
    await events.wait_state(LAB_C, TunnelState.EXPIRED, timeout=10)
    await engine.saved()  # the expiry commits in a task of its own: wait for it
    assert _files_holding(state_dir, third) == []


async def test_re_enabling_with_a_new_seed_removes_the_previous_one(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    engine, _ = await make_engine(state_dir=state_dir)
    old = await engine.enable(LAB_C, seed="old-Seed-99887")
    new = await engine.enable(LAB_C, seed="new-Seed-55443")
    assert _files_holding(state_dir, old) == []
    assert _files_holding(state_dir, new) == [state_dir / "appliances.jsonl"]
