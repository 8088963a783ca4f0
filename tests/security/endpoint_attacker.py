"""An attacker at the (SERVICE) endpoint: holds the support CA (as every engineer does) and
tries certificates for seeds it does not know, through the real lab relay."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import asyncssh

from tests.engineer import certificate, relay_connection
from tui.engine.lab.lab import LabInfo


def guesses(info: LabInfo, serial: str, count: int) -> list[object]:
    """`count` certificates from the real support CA, each for a wrong seed."""
    return [certificate(info, serial, f"Guess-{n:04d}-Qx7!") for n in range(count)]


async def try_keys(
    info: LabInfo, serial: str, keys: Sequence[object], *, username: str = "service"
) -> tuple[str, float]:
    """One connection offering `keys` in turn: (how it ended, seconds it took)."""
    relay = await relay_connection(info)
    started = time.monotonic()
    try:
        async with asyncssh.connect(
            serial,
            22,
            tunnel=relay,
            username=username,
            client_keys=keys,
            known_hosts=None,
            agent_path=None,
            config=None,
            login_timeout=60,
        ):
            return "in", time.monotonic() - started
    except asyncssh.PermissionDenied as error:
        return f"denied: {error.reason}", time.monotonic() - started
    except (asyncssh.DisconnectError, asyncssh.ConnectionLost) as error:
        return f"cut: {error.reason}", time.monotonic() - started
    finally:
        relay.close()


def audit(path: Any, action: str) -> list[dict[str, Any]]:
    """The audit records of one action."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in records if r["action"] == action]
