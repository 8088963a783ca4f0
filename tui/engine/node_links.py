"""One appliance's tunnels to a relay cluster, each on its own node, as the console shows them."""

from __future__ import annotations

from dataclasses import dataclass

from tui.engine.states import TunnelState


@dataclass(frozen=True, slots=True)
class NodeLink:
    """One of the appliance's tunnels: which relay node address, and where it stands."""

    address: str
    state: TunnelState
    reason: str = ""


def nodes_label(links: tuple[NodeLink, ...], relay_host: str) -> str:
    """The fleet table's relay column: the host for one tunnel, "2 nodes" for a cluster."""
    if len(links) < 2:
        return relay_host
    up = sum(1 for link in links if link.state.is_up)
    return f"{len(links)} nodes" if up == len(links) else f"{up} of {len(links)} nodes"
