"""rac's version, kept in the engine so that the engine and the console can both print it."""

from __future__ import annotations

VERSION = "0.1.0"
