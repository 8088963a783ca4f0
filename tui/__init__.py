"""rac — the Remote Access Console."""

from tui.engine.version import VERSION as __version__

__all__ = ["__version__"]
