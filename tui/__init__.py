"""rac — the Remote Access Console."""

__version__ = "0.1.0"
