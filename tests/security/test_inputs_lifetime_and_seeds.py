"""Lifetimes have a maximum (90 days) and typed seeds must be hard to guess.

Before: `--lifetime 99999999999999999999d` was accepted, and `123456` or `aaaaaa` were
accepted seeds for an endpoint anyone with the support CA can try seeds against.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LAB_C, EngineFactory, RunningLab
from tests.rac_process import run
from tui.engine.errors import SeedError
from tui.engine.secure_files import write_private
from tui.engine.seed_strength import estimate_bits
from tui.engine.seeds import ENTROPY_BITS, generate_seed, validate_seed


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (
            "99999999999999999999d",
            "99999999999999999999d is longer than the maximum of 90 days (90d)",
        ),
        ("91d", "91d is longer than the maximum of 90 days (90d)"),
        ("7777777h", "7777777h is longer than the maximum of 90 days (90d)"),
        ("0s", "a duration must be longer than zero"),
    ],
)
async def test_lifetimes_longer_than_90_days_are_refused(
    lab: RunningLab, tmp_path: Path, value: str, said: str
) -> None:
    state = tmp_path / "state"
    code, _, err = await run(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        LAB_C,
        "--lifetime",
        value,
        "--state-dir",
        str(state),
    )
    assert code == 2
    assert err.strip() == f"rac: --lifetime: {said}."
    assert not state.exists()


async def test_an_inventory_lifetime_past_the_maximum_is_located(
    lab: RunningLab, tmp_path: Path
) -> None:
    inventory = lab.inventory_with("long.toml", lifetime="1000d")
    code, _, err = await run(
        "agent",
        "--inventory",
        str(inventory),
        "--enable",
        LAB_C,
        "--state-dir",
        str(tmp_path / "state"),
    )
    line = next(
        n
        for n, text in enumerate(inventory.read_text().splitlines(), start=1)
        if text.startswith("lifetime =")
    )
    assert code == 2
    assert err.startswith(f"rac: {inventory}, line {line}, field relay.lifetime: ")
    assert "1000d is longer than the maximum of 90 days" in err


@pytest.mark.parametrize(
    ("seed", "rule"),
    [
        ("aaaaaa", "one character repeated ('a')"),
        ("########", "one character repeated ('#')"),
        ("123456", "a run such as 123456 or abcdef"),
        ("abcdef", "a run such as 123456 or abcdef"),
        ("987654321", "a run such as 123456 or abcdef"),
        ("qwerty", "a run such as 123456 or abcdef"),
        ("QWERTYUIOP", "a run such as 123456 or abcdef"),
        ("abcabc", "repeats 'abc'"),
        ("Pass1!Pass1!", "repeats 'Pass1!'"),
        ("password", "too easy to guess: about 38 bits"),
        ("12345678901", "too easy to guess"),
        ("abcdefgh1", "too easy to guess: about 13 bits"),
    ],
)
def test_typed_seeds_that_are_trivially_guessable_are_refused_naming_the_rule(
    seed: str, rule: str
) -> None:
    with pytest.raises(SeedError, match=rule.replace("(", r"\(").replace(")", r"\)")):
        validate_seed(seed)


@pytest.mark.parametrize(
    "seed", ["k7#Qx!", "Bench-Seed-42", "S33D-XY", "correct-horse", "Tr0ub4dor&3"]
)
def test_seeds_with_real_strength_are_accepted(seed: str) -> None:
    assert validate_seed(seed) == seed
    assert estimate_bits(seed) >= 39


def test_generated_seeds_are_unchanged_and_always_pass() -> None:
    assert ENTROPY_BITS > 90
    for _ in range(200):
        seed = generate_seed()
        assert validate_seed(seed) == seed


async def test_weak_seeds_are_refused_everywhere_they_enter(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    seed_file = tmp_path / "seed"
    write_private(seed_file, "123456\n")
    state = tmp_path / "state"
    code, _, err = await run(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        LAB_C,
        "--seed-file",
        str(seed_file),
        "--state-dir",
        str(state),
    )
    assert code == 2 and "a run such as 123456 or abcdef" in err
    assert not state.exists()
    engine, _ = await make_engine()
    with pytest.raises(SeedError, match="one character repeated"):
        await engine.enable(LAB_C, seed="aaaaaa")
    await engine.enable(LAB_C)
    with pytest.raises(SeedError, match="a run such as"):
        await engine.new_seed(LAB_C, seed="abcdef")
