"""`rac relay --config FILE`: run the support relay until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse

from tui.commands.event_loop import run_server_loop
from tui.commands.signals import stop_on_signals
from tui.engine.errors import RacError
from tui.engine.relay.cluster_node import describe_cluster
from tui.engine.relay.relay_config import RelayConfig, load_relay_config
from tui.engine.relay.relay_server import Relay


def run_relay_command(args: argparse.Namespace) -> int:
    """Check the config (exit 2 on error), then serve."""
    config = load_relay_config(args.config)
    return run_server_loop(_serve(config))


async def _serve(config: RelayConfig) -> int:
    stop = stop_on_signals()
    relay = Relay(config)
    try:
        ports = await relay.start()
    except OSError as error:
        await relay.close()
        raise RacError(f"The relay cannot listen on {config.listen} "
                       f"ports {list(config.ports)}: {error.strerror or error}.") from None
    print(f"rac relay listening on {config.listen} ports {', '.join(map(str, ports))}; "
          f"host key {relay.host_key.get_fingerprint('sha256')}", flush=True)
    if relay.cluster is not None:
        print(describe_cluster(relay.cluster), flush=True)
    try:
        await stop.wait()
    finally:
        await relay.close()
    return 0
