"""Where a seed comes from on the command line without ever sitting in argv.

`--seed S` puts the seed in `/proc/PID/cmdline`, which every local user can read for as long
as the process runs, so rac offers `--seed-file FILE` (a 0600 file of yours), `--seed -` (one
line from stdin; a hidden prompt when stdin is a terminal) and, for `rac support connect`,
a hidden prompt when no seed is given. `--seed S` still works, with a warning.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from tui.engine.bounded_files import KEY_LIMIT, UnreadableFile, read_bounded_text
from tui.engine.errors import UsageError
from tui.engine.secure_files import check_private

STDIN = "-"
MAX_LINE = 4096
ARGV_WARNING = (
    "rac: warning: a seed given as --seed on the command line can be read by every "
    "local user while rac runs (ps, /proc); prefer --seed-file FILE or --seed - "
    "(stdin, or a hidden prompt on a terminal)."
)


def read_seed(
    seed: str | None, seed_file: Path | None, *, prompt: str, ask_when_missing: bool
) -> str | None:
    """The seed from --seed-file, --seed - or --seed S; a hidden prompt when none is given and
    `ask_when_missing` (and stdin is a terminal); None when there is none to read."""
    if seed_file is not None:
        return _from_file(seed_file)
    if seed == STDIN:
        return _from_stdin(prompt)
    if seed is not None:
        print(ARGV_WARNING, file=sys.stderr)
        return seed
    if ask_when_missing:
        if not sys.stdin.isatty():
            raise UsageError(
                "No seed given: use --seed-file FILE, or --seed - to read it from stdin."
            )
        return _from_stdin(prompt)
    return None


def _from_file(path: Path) -> str:
    check_private(path, "the seed file")
    try:
        text = read_bounded_text(path, KEY_LIMIT)
    except UnreadableFile as error:
        raise UsageError(f"--seed-file {path}: {error}.") from None
    return _one_line(text, f"--seed-file {path}")


def _from_stdin(prompt: str) -> str:
    if sys.stdin.isatty():
        try:
            return getpass.getpass(prompt)
        except EOFError:
            raise UsageError("No seed was typed.") from None
    line = sys.stdin.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise UsageError(
            f"--seed -: the first line of stdin is longer than {MAX_LINE} "
            "characters; a seed has at most 128."
        )
    return _one_line(line, "--seed -")


def _one_line(text: str, where: str) -> str:
    """The first line without its line ending (a file's trailing newline is not the seed's)."""
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise UsageError(f"{where}: no seed found (the first line is empty).")
    return lines[0]
