"""The handshake budget adapts: a link slower than the floor allows still comes up, because
each `ssh-timeout` in a row doubles the budget; the log names the stage that was slow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.chaos_proxy import ChaosProxy
from tests.conftest import LAB_C, EngineFactory
from tui.engine.events import LogRecord, StateChanged
from tui.engine.handshake_budget import HandshakeBudget, HandshakeLimits
from tui.engine.reasons import Reason
from tui.engine.states import TunnelState


def test_the_budget_follows_the_link_between_floor_and_ceiling() -> None:
    budget = HandshakeBudget(HandshakeLimits(floor=10, ceiling=120))
    assert budget.for_attempt(None) == 10
    assert budget.for_attempt(0.1) == 10  # a fast link: the floor
    assert budget.for_attempt(1.5) == 22.5  # 15 round trips of what the banner took
    budget.timed_out()
    budget.timed_out()
    assert budget.for_attempt(1.5) == 90  # doubled twice after two timeouts in a row
    budget.timed_out()
    assert budget.for_attempt(1.5) == 120  # never past the ceiling
    budget.succeeded()
    assert budget.for_attempt(0.1) == 10


async def test_a_link_slower_than_the_floor_comes_up_as_the_budget_grows(
    make_engine: EngineFactory, proxy: ChaosProxy, via_proxy: Callable[..., Path]
) -> None:
    proxy.bandwidth = 6 * 1024  # the key exchange alone takes about a second here
    engine, events = await make_engine(
        via_proxy(handshake_timeout=0.3, keepalive_interval=15.0, keepalive_timeout=19.0)
    )
    await engine.enable(LAB_C)

    await events.wait_state(LAB_C, TunnelState.ESTABLISHED, timeout=30)

    timeouts = [e for e in events.of_type(StateChanged) if e.reason == Reason.SSH_TIMEOUT]
    assert timeouts, "the floor was meant to be too short for this link"
    slow = [r.message for r in events.of_type(LogRecord) if r.message.startswith("ssh-timeout")]
    assert "no progress in HANDSHAKE for" in slow[0]
    assert "handshake budget" in slow[0]
