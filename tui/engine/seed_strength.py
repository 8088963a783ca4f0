"""How guessable a typed seed is: a deliberately simple estimate, strict on the obvious.

A seed is what stands between an engineer who holds the support CA and an appliance that is
not theirs to enter, so a typed seed must not be one of the first things a guesser tries: a
single character repeated, a run such as `123456`, `abcdef` or `qwerty`, a short block
repeated, or anything worth fewer than about 40 bits by the estimate below. The endpoint's
throttle (at most 6 tries per connection, a growing delay after failures) makes 40 bits more
than a lifetime of guessing.
"""

from __future__ import annotations

import math
import string

from tui.engine.errors import SeedError

MIN_BITS = 39.0
"""About 40 bits; 39 lets six characters that mix all four kinds (39.3 bits) through."""

_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation)
_RUN = 3
"""Characters in a row that count as one run (repeated, counting up or down, or a key row)."""


def check_strength(seed: str) -> None:
    """Raise SeedError naming the rule if `seed` is trivially guessable."""
    if len(set(seed)) == 1:
        raise SeedError(
            f"The seed is one character repeated ({seed[0]!r}): anyone would "
            "guess it. Type something less regular, or let rac generate one."
        )
    if _runs(seed) == [len(seed)]:
        raise SeedError(
            "The seed is a run such as 123456 or abcdef (characters in order, "
            "on the keyboard or in the alphabet): anyone would guess it. Type "
            "something less regular, or let rac generate one."
        )
    block = _repeated_block(seed)
    if block is not None:
        raise SeedError(
            f"The seed repeats {block!r}: a repeated block is guessed as easily "
            "as the block alone. Type something less regular, or let rac "
            "generate one."
        )
    bits = estimate_bits(seed)
    if bits < MIN_BITS:
        raise SeedError(
            f"The seed is too easy to guess: about {bits:.0f} bits by a simple "
            "estimate, it needs about 40. Make it longer, or mix "
            "upper and lower case, digits and punctuation (or let rac generate "
            "one)."
        )


def estimate_bits(seed: str) -> float:
    """log2(character pool) per character, where a run of 3 or more counts as one character
    plus the bits of its length (so `Xk9!abcdefgh` is worth little more than `Xk9!a`)."""
    pool = sum(len(kind) for kind in _CLASSES if any(char in kind for char in seed))
    per_char = math.log2(max(pool, 2))
    return sum(per_char + (math.log2(run) if run > 1 else 0.0) for run in _runs(seed))


def _runs(seed: str) -> list[int]:
    """The seed cut into pieces: runs of at least 3 regular characters, and single ones."""
    pieces: list[int] = []
    index = 0
    while index < len(seed):
        length = _run_at(seed, index)
        if length >= _RUN:
            pieces.append(length)
            index += length
        else:
            pieces.append(1)
            index += 1
    return pieces


def _run_at(seed: str, start: int) -> int:
    """Length of the longest regular run starting at `start` (repeats, steps of ±1, rows)."""
    best = 1
    lowered = seed.lower()
    for step in (0, 1, -1):
        length = 1
        while (
            start + length < len(seed)
            and ord(seed[start + length]) - ord(seed[start + length - 1]) == step
        ):
            length += 1
        best = max(best, length)
    for row in _KEYBOARD_ROWS:
        for line in (row, row[::-1]):
            position = line.find(lowered[start])
            if position < 0:
                continue
            length = 1
            while (
                start + length < len(seed)
                and position + length < len(line)
                and lowered[start + length] == line[position + length]
            ):
                length += 1
            best = max(best, length)
    return best


def _repeated_block(seed: str) -> str | None:
    """The block if `seed` is one shorter block written out two or more times."""
    for size in range(1, len(seed) // 2 + 1):
        if len(seed) % size == 0 and seed[:size] * (len(seed) // size) == seed:
            return seed[:size]
    return None
