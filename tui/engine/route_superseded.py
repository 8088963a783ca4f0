"""One tunnel per appliance: the relay tells the older of two agents for one serial why it
is closed, and that agent stops instead of taking the route back (which would flap forever).

The notice travels as the SSH disconnect message, the only word a server can give a client
while closing it; both sides use the text below, so it is matched exactly, not parsed.
"""

from __future__ import annotations

import asyncssh

SUPERSEDED_NOTICE = "rac: superseded: a newer connection for this appliance serial took the route"


def supersede(conn: asyncssh.SSHServerConnection) -> None:
    """Close an agent connection whose route a newer connection took, saying why."""
    # Not DISC_BY_APPLICATION: asyncssh reports that one as a clean close, without the text.
    conn.disconnect(asyncssh.DISC_SERVICE_NOT_AVAILABLE, SUPERSEDED_NOTICE)


def was_superseded(lost: Exception | None) -> bool:
    """The relay closed this agent connection because a newer one took its route."""
    return isinstance(lost, asyncssh.DisconnectError) and lost.reason == SUPERSEDED_NOTICE
