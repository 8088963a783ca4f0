"""Where rac keeps its files by default (platformdirs), so every command agrees."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "rac"


def default_state_dir() -> Path:
    """Keys, seeds, enabled flags and audit logs of the console and the agent."""
    return Path(platformdirs.user_state_dir(APP_NAME))


def default_lab_dir() -> Path:
    """The built-in lab's files; `rac support connect --lab` reads `lab.json` here."""
    return default_state_dir() / "lab"


def default_inventory_path() -> Path:
    """The inventory used when `--inventory` is not given."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "inventory.toml"


def default_settings_path() -> Path:
    """Console preferences such as the chosen theme."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "settings.json"
