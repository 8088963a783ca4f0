"""`rac` with no command: the console, on the built-in lab unless an inventory is given."""

from __future__ import annotations

import argparse

from tui.engine.errors import RacError


def run_console_command(args: argparse.Namespace) -> int:
    """Open the full-screen console."""
    raise RacError("The console is not built yet: use `rac lab` and `rac agent`.")
