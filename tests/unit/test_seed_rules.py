"""Seed rules: generated seeds pass by construction; typed ones are refused with the rule."""

from __future__ import annotations

import random
import re

import pytest

from tui.engine.errors import SeedError
from tui.engine.seeds import ALPHABET, GROUP, GROUPS, MAX_LENGTH, generate_seed, validate_seed


def test_generated_seeds_have_the_documented_shape_and_pass() -> None:
    shape = re.compile(rf"^[{ALPHABET}]{{{GROUP}}}(-[{ALPHABET}]{{{GROUP}}}){{{GROUPS - 1}}}$")
    for _ in range(50):
        seed = generate_seed()
        assert shape.match(seed), seed
        assert validate_seed(seed) == seed
    chooser = random.Random(5)
    assert generate_seed(chooser.choice) == generate_seed(random.Random(5).choice)


@pytest.mark.parametrize(
    ("seed", "says"),
    [
        ("   ", "blank"),
        ("ab", "2 characters long: it needs at least 6"),
        ("x" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH}"),
        ("abc def1", "space at position 4"),
    ],
)
def test_a_typed_seed_that_breaks_a_rule_names_it(seed: str, says: str) -> None:
    with pytest.raises(SeedError) as caught:
        validate_seed(seed)
    assert says in caught.value.sentence
    assert seed.strip() == "" or seed not in caught.value.sentence  # never echoes the seed
