"""A warm parent for many `rac agent` runs: it imports rac once, then forks each run, so a
test can kill twenty agents at random moments in seconds instead of paying the ~1 s start-up
of a fresh interpreter each time. Each child runs `tui.cli.main(argv)` — the very code of
`rac agent` — with stdout and stderr on a pipe the test passed in.

Protocol on the Unix socket whose fd is argv[1]: the test sends a JSON argv list with the
write end of its pipe attached (SCM_RIGHTS); the forker answers with the child's PID.
"""

from __future__ import annotations

import json
import os
import socket
import sys

import tui.commands.agent_command  # noqa: F401 — warm: the child starts in milliseconds
from tui.cli import main


def serve(channel: socket.socket) -> None:
    """Fork one run per request until the test closes the socket. A child is reaped only at
    the next request, after the test is done with it: until then its PID cannot be reused,
    so the test's SIGKILL can never reach a stranger."""
    while True:
        data, fds, _, _ = socket.recv_fds(channel, 65536, 1)
        _reap()
        if not data:
            return
        argv = json.loads(data)
        pid = os.fork()
        if pid == 0:
            channel.close()
            os.dup2(fds[0], 1)
            os.dup2(fds[0], 2)
            os.close(fds[0])
            code = 1
            try:
                code = main(argv)
            finally:
                sys.stdout.flush()
                os._exit(code)
        os.close(fds[0])
        channel.sendall(f"{pid}\n".encode())


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
