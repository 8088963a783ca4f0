"""A support engineer for the watch benchmark, in its own process: logs in with a PTY,
waits for `go` on stdin, runs `stream MIB`, and prints how long the output took to arrive.

`python -m tests.perf.stream_engineer LABDIR SERIAL SEED MIB` prints `ready`, then one JSON
line {"seconds": …, "bytes": …} after the stream has been read to its last line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from tui.engine.lab.lab import read_lab_info
from tui.engine.support_client import SupportRoute, open_support_connection


async def main(lab_dir: Path, serial: str, seed: str, mib: float) -> None:
    info = read_lab_info(lab_dir)
    route = SupportRoute(
        info.relay_host,
        info.relay_ports["22"],
        info.known_hosts,
        info.engineer_key,
        info.support_ca_key,
        "bench",
        lab_dir / "bench_appliance_known_hosts",
    )
    relay, appliance, _ = await open_support_connection(route, serial, seed)
    process = await appliance.create_process(term_type="xterm", term_size=(120, 40), encoding=None)
    seen = bytearray()
    async with asyncio.timeout(30):
        while b"(SERVICE)> " not in seen:
            seen.extend(await process.stdout.read(65536))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    last = f"{int(mib * 1024 * 1024) // 80 - 1:010d} ".encode()
    received = 0
    tail = b""
    started = time.perf_counter()
    process.stdin.write(f"stream {mib:g}\r".encode())
    async with asyncio.timeout(600):
        while True:
            chunk = await process.stdout.read(1 << 20)
            if not chunk:
                raise SystemExit("the session ended before the stream did")
            received += len(chunk)
            tail = (tail + chunk)[-200:]
            if last in tail and tail.endswith(b"(SERVICE)> "):
                break
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "bytes": received}), flush=True)
    process.stdin.write(b"exit\r")
    appliance.close()
    relay.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])))
