"""A lab whose relay runs either the new keepalive defaults or none (the old relay), for the
liveness benchmark: `python -m tests.perf.liveness_lab DIR new|old` prints the lab's JSON and
serves until terminated."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from tui.engine.lab.lab import Lab

# The relay before this work had no keepalive of its own on agent connections.
OLD_RELAY = {"agent_keepalive_interval": 0.0, "agent_keepalive_timeout": 0.0}


async def main(directory: Path, mode: str) -> None:
    lab = Lab(directory, relay_settings=OLD_RELAY if mode == "old" else {})
    info = await lab.start()
    print(json.dumps(info.to_json()), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await lab.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
