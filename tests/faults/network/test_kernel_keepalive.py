"""The kernel's net under the SSH keepalive: TCP keepalive and TCP_USER_TIMEOUT on the agent's
and the relay's sockets."""

from __future__ import annotations

import socket

from tests.conftest import LAB_C, EngineFactory, RunningLab
from tui.engine.socket_options import KERNEL_KEEPALIVE
from tui.engine.states import TunnelState


def _liveness_options(sock: socket.socket) -> tuple[int, int, int, int, int]:
    return (
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
        sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
        sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
        sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
    )


async def test_agent_and_relay_sockets_carry_tcp_keepalive_and_a_user_timeout(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    engine, events = await make_engine()
    await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    wanted = (
        1,
        KERNEL_KEEPALIVE.idle,
        KERNEL_KEEPALIVE.interval,
        KERNEL_KEEPALIVE.count,
        int(KERNEL_KEEPALIVE.user_timeout * 1000),
    )
    agent = engine.agent(LAB_C)
    assert agent is not None and agent._conn is not None
    assert _liveness_options(agent._conn.get_extra_info("socket")) == wanted
    relay = lab.lab.relay
    assert relay is not None
    assert [_liveness_options(c.get_extra_info("socket")) for c in relay.connections] == [wanted]
