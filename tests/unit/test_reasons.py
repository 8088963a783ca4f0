"""Every failure reason has a stage, a sentence an operator can act on, and draws its stage on
the track: the track reads the type, never the spelling of the code."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from tui.engine.reasons import Reason, failure
from tui.engine.stages import Stage
from tui.engine.states import TunnelState
from widgets.stage_track import StageTrack, stage_roles

# Families the code's prefix names: their stage must agree (a reason outside them is free).
_FAMILY_STAGE = {
    "dns-": Stage.DNS,
    "tcp-": Stage.TCP,
    "proxy-": Stage.TCP,
    "not-ssh": Stage.SSH,
    "ssh-": Stage.SSH,
    "host-key": Stage.SSH,
    "auth-": Stage.AUTH,
    "forward-": Stage.FORWARD,
}


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_reason_has_a_stage_and_a_sentence(reason: Reason) -> None:
    assert isinstance(reason.stage, Stage)
    for prefix, stage in _FAMILY_STAGE.items():
        if reason.value.startswith(prefix):
            assert reason.stage is stage, f"{reason} starts with {prefix!r}"
    sentence = reason.sentence(host="relay.example.net", port=4766, gateway="mail-gw-1")
    assert sentence[0].isupper() and sentence.endswith((".", ")."))
    assert "{" not in sentence and "None" not in sentence


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_stage_track_fails_at_the_reason_stage(reason: Reason) -> None:
    roles = dict(stage_roles(TunnelState.RETRYING, failure(reason).stage))
    assert [s for s, role in roles.items() if role == "failed"] == [reason.stage]
    assert all(role == "done" for s, role in roles.items() if s < reason.stage)
    assert all(role == "pending" for s, role in roles.items() if s > reason.stage)


def test_a_proxy_refusal_fails_at_tcp_not_after_five_green_stages() -> None:
    roles = stage_roles(TunnelState.RETRYING, failure(Reason.PROXY_REFUSED).stage)
    assert roles[:3] == [(Stage.DNS, "done"), (Stage.TCP, "failed"), (Stage.SSH, "pending")]


def test_a_stage_reached_is_current_and_an_up_tunnel_is_all_done() -> None:
    connecting = dict(stage_roles(TunnelState.HANDSHAKE, None))
    assert connecting[Stage.SSH] == "current" and connecting[Stage.TCP] == "done"
    assert connecting[Stage.AUTH] == "pending"
    assert {role for _, role in stage_roles(TunnelState.ESTABLISHED, None)} == {"done"}
    assert {role for _, role in stage_roles(TunnelState.DISABLED, None)} == {"pending"}


class _TrackApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StageTrack()


async def test_the_track_draws_the_failed_stage() -> None:
    app = _TrackApp()
    async with app.run_test():
        track = app.query_one(StageTrack)
        track.show(TunnelState.RETRYING, failure(Reason.PROXY_AUTH).stage)
        drawn = str(track.render())
    assert drawn.split(" › ") == ["✓ DNS", " ✗ TCP ", "· SSH", "· AUTH", "· FORWARD", "· READY"]


@pytest.mark.parametrize(
    ("stalled", "drawn"),
    [
        (Stage.SSH, ["✓ DNS", "✓ TCP", " ✗ SSH ", "· AUTH", "· FORWARD", "· READY"]),
        (Stage.AUTH, ["✓ DNS", "✓ TCP", "✓ SSH", " ✗ AUTH ", "· FORWARD", "· READY"]),
        (Stage.FORWARD, ["✓ DNS", "✓ TCP", "✓ SSH", "✓ AUTH", " ✗ FORWARD ", "· READY"]),
    ],
)
async def test_an_ssh_timeout_is_drawn_at_the_stage_that_stalled(
    stalled: Stage, drawn: list[str]
) -> None:
    timeout = failure(Reason.SSH_TIMEOUT, stalled_at=stalled)
    assert timeout.stage is stalled and failure(Reason.SSH_TIMEOUT).stage is Stage.SSH
    app = _TrackApp()
    async with app.run_test():
        track = app.query_one(StageTrack)
        track.show(TunnelState.RETRYING, timeout.stage)
        assert str(track.render()).split(" › ") == drawn
