"""Console preferences that persist: the theme and key remaps (settings.json, per user)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from themes.palette import ALL_THEME_NAMES, DEFAULT_THEME
from tui.engine.errors import ConfigError
from tui.engine.secure_files import write_private


@dataclass(slots=True)
class Settings:
    """What the operator chose last time."""

    path: Path | None
    theme: str = DEFAULT_THEME
    keymap: dict[str, str] = field(default_factory=dict)
    notifications: str = "osc9"
    """When support enters or leaves: "osc9", "osc777" (bell and desktop notice), "bell", "off"."""

    def save(self) -> None:
        """Write back (nothing to do for throwaway settings)."""
        if self.path is not None:
            import json

            # It holds no secret and may be a link into a dotfiles repository: written where
            # the link points (the private-file writer never writes through a link itself).
            write_private(
                self.path.resolve(),
                json.dumps(
                    {
                        "theme": self.theme,
                        "keymap": self.keymap,
                        "notifications": self.notifications,
                    },
                    indent=2,
                ),
            )


def load_settings(path: Path | None) -> Settings:
    """Read settings.json; a damaged file is named, never silently replaced."""
    if path is None or not path.exists():
        return Settings(path)
    import json  # only when there is a file to read: not on every start's path

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise ConfigError(f"{path}: not valid JSON ({error}); fix or delete it.") from None
    theme = data.get("theme", DEFAULT_THEME)
    if theme not in ALL_THEME_NAMES:
        theme = DEFAULT_THEME
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()
    ):
        raise ConfigError(
            f'{path}, field keymap: map binding ids to keys, like {{"rac.enable": "E"}}.'
        )
    notifications = data.get("notifications", "osc9")
    if notifications not in NOTIFICATION_STYLES:
        raise ConfigError(
            f"{path}, field notifications: use one of "
            f"{', '.join(NOTIFICATION_STYLES)} (got {notifications!r})."
        )
    return Settings(path, theme, dict(keymap), notifications)


NOTIFICATION_STYLES = ("osc9", "osc777", "bell", "off")
