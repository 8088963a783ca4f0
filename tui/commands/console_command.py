"""`rac` with no command: the console, on the built-in lab unless an inventory is given."""

from __future__ import annotations

import argparse

from themes.palette import ALL_THEME_NAMES, THEME_NAMES
from tui.engine.errors import UsageError
from tui.engine.locations import default_lab_dir, default_settings_path, default_state_dir
from tui.engine.state_lock import LAB_CONSOLE, StateDirLock, lock_state_dir
from tui.environment import ConsoleEnvironment, InventoryEnvironment, LabEnvironment
from tui.settings import load_settings


def run_console_command(args: argparse.Namespace) -> int:
    """Check the inputs before the screen takes over, then run the console.

    The inventory's fields are checked once the first frame is painted (the models need
    pydantic); a bad field ends the console with the same sentence and exit code 2."""
    if args.theme is not None and args.theme not in ALL_THEME_NAMES:
        raise UsageError(
            f"--theme {args.theme!r}: use one of {', '.join(THEME_NAMES)} "
            f"(or a Textual theme: {', '.join(ALL_THEME_NAMES[3:])})."
        )
    settings = load_settings(default_settings_path())
    environment: ConsoleEnvironment
    locks: list[StateDirLock] = []
    try:
        if args.inventory is not None:
            from tui.engine.toml_source import read_toml

            read_toml(args.inventory)  # a missing file or bad TOML stops here, before the screen
            state_dir = args.state_dir or default_state_dir()
            locks.append(lock_state_dir(state_dir, "rac console"))
            environment = InventoryEnvironment(args.inventory, state_dir)
        else:
            lab_dir = (args.state_dir or default_lab_dir()).expanduser().resolve()
            locks.append(lock_state_dir(lab_dir, LAB_CONSOLE, role="the lab directory"))
            locks.append(lock_state_dir(lab_dir / "state", LAB_CONSOLE))
            environment = LabEnvironment(lab_dir)
        if args.theme is not None:
            settings.theme = args.theme
            settings.save()

        from tui.app import run_console

        return run_console(environment, settings=settings)
    finally:
        for lock in locks:
            lock.release()
