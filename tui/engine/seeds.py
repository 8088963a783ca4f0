"""Seed strings: generated for reading aloud, or entered by the operator under fixed rules."""

from __future__ import annotations

import math
import secrets
import string
from collections.abc import Callable
from functools import partial

from tui.engine.errors import SeedError
from tui.engine.seed_strength import check_strength

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: every character survives being read over the phone.
ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
GROUP = 4
GROUPS = 5
MIN_LENGTH = 6
MAX_LENGTH = 128
ENTROPY_BITS = GROUP * GROUPS * math.log2(len(ALPHABET))

Chooser = Callable[[str], str]


def _one_draw(alphabet: str) -> Callable[[], str]:
    """All symbols from one draw of `secrets` (one getrandom call, not twenty)."""
    number = secrets.randbelow(len(alphabet) ** (GROUP * GROUPS))
    symbols = []
    for _ in range(GROUP * GROUPS):
        number, index = divmod(number, len(alphabet))
        symbols.append(alphabet[index])
    return iter(symbols).__next__


def generate_seed(choose: Chooser | None = None) -> str:
    """A random seed like `K7QX-MD4F-...`: 20 symbols of 25, about 93 bits from `secrets`
    (or from `choose`, which tests seed for reproducible screens)."""
    pick = _one_draw(ALPHABET) if choose is None else partial(choose, ALPHABET)
    symbols = "".join([pick() for _ in range(GROUP * GROUPS)])
    return "-".join([symbols[at : at + GROUP] for at in range(0, GROUP * GROUPS, GROUP)])


def validate_seed(seed: str) -> str:
    """Return the seed if it obeys every rule, else raise SeedError naming the rule broken.

    Generated seeds pass by construction (about 93 bits); typed ones must also be hard to
    guess, since anyone holding the support CA can try seeds against the endpoint."""
    if not seed.strip():
        raise SeedError("The seed is blank: enter 6 to 128 characters.")
    if len(seed) < MIN_LENGTH:
        length = "1 character" if len(seed) == 1 else f"{len(seed)} characters"
        raise SeedError(f"The seed is {length} long: it needs at least {MIN_LENGTH}.")
    if len(seed) > MAX_LENGTH:
        raise SeedError(
            f"The seed is {len(seed)} characters long: it may have at most {MAX_LENGTH}."
        )
    for position, char in enumerate(seed, start=1):
        if char == " ":
            raise SeedError(f"The seed has a space at position {position}: spaces are not allowed.")
        if char == ",":
            raise SeedError(
                f"The seed has a comma at position {position}: commas are not "
                "allowed (the seed becomes a certificate principal)."
            )
        if char not in _PRINTABLE:
            shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
            raise SeedError(
                f"The seed has {shown} at position {position}: use ASCII letters, "
                "digits and punctuation only (it must survive any keyboard and "
                "terminal)."
            )
    check_strength(seed)
    return seed


_PRINTABLE = frozenset(string.digits + string.ascii_letters + string.punctuation)
