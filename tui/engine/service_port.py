"""The port support reaches on every appliance: agents listen on it, the relay routes only it."""

from __future__ import annotations

SERVICE_PORT = 22
