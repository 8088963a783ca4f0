"""The endpoint's admission rules on an injected clock: how the delay grows, how logins are
spaced under it, when failures are forgiven, and how refusals are summarised."""

from __future__ import annotations

import asyncio

from tui.engine.login_throttle import LoginPolicy, LoginThrottle
from tui.engine.refusal_tally import RefusalSummary, RefusalTally, RefusedLogin


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail(throttle: LoginThrottle) -> None:
    assert throttle.try_begin()
    throttle.finished(authenticated=False, failed=True)


def test_the_delay_doubles_after_the_free_failures_up_to_the_cap() -> None:
    throttle = LoginThrottle(clock=Clock())
    delays = []
    for _ in range(12):
        _fail(throttle)
        delays.append(throttle.delay())
    assert delays == [0, 0, 0, 1, 2, 4, 8, 16, 30, 30, 30, 30]


def test_under_penalty_logins_are_spaced_one_per_delay() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(5):
        _fail(throttle)  # delay now 2 s, next login not before now + 2 s
    assert [throttle.wait_before_login() for _ in range(3)] == [2.0, 4.0, 6.0]


def test_failures_are_forgiven_after_quiet_time_or_a_success() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(6):
        _fail(throttle)
    assert throttle.delay() == 4
    clock.now += LoginPolicy().forget_after + 1
    assert throttle.delay() == 0 and throttle.wait_before_login() == 0
    for _ in range(6):
        _fail(throttle)
    assert throttle.try_begin()
    throttle.finished(authenticated=True, failed=False)
    assert throttle.delay() == 0 and throttle.wait_before_login() == 0


def test_connections_that_try_nothing_cost_nothing_but_hold_a_place() -> None:
    throttle = LoginThrottle(LoginPolicy(max_pending=2), clock=Clock())
    assert throttle.try_begin() and throttle.try_begin()
    assert not throttle.try_begin()
    throttle.finished(authenticated=False, failed=False)
    assert throttle.try_begin()
    assert throttle.failures == 0


async def test_refusals_past_the_rate_are_summarised_per_interval() -> None:
    clock = Clock()
    written: list[RefusedLogin] = []
    summaries: list[RefusalSummary] = []
    tally = RefusalTally(
        written.append, summaries.append, clock=clock, interval=60, full_per_interval=3
    )
    for number in range(40):
        tally.refused(RefusedLogin(f"10.0.0.{number}:2222", "service", ("x",), "x"))
    assert len(written) == 3 and not summaries
    clock.now += 61
    tally.refused(RefusedLogin("10.0.0.1:1", "service", (), "y"))  # a new interval
    assert len(written) == 4
    [summary] = summaries
    assert summary.count == 37 and summary.by_reason == {"x": 37}
    assert len(summary.by_source) == 21 and summary.by_source["other"] == 17
    tally.flush()
    assert len(summaries) == 1  # nothing counted since
    await asyncio.sleep(0)
