"""An appliance's fleet row and the filter, from plain statuses (no engine)."""

from __future__ import annotations

from collections import deque

from tui.engine.events import Level
from tui.engine.states import Mode, TunnelState
from tui.engine.status import ApplianceStatus, SessionView
from tui.fleet_model import ApplianceView, LogLine, lines_after
from tui.fleet_rows import fleet_row, matches

NOW = 1_796_040_000.0


def _status(**changes: object) -> ApplianceStatus:
    fields: dict[str, object] = dict(
        name="mail-gw-1",
        serial="0C4A1D8E2F61-FCH2143V0AB",
        series="C",
        model="C695",
        mode=Mode.TUNNEL,
        enabled=False,
        state=TunnelState.DISABLED,
        relay_host="c.tunnels.rac.test",
        port=25,
        selected_port=25,
        since=NOW,
    )
    fields.update(changes)
    return ApplianceStatus(**fields)  # type: ignore[arg-type]


def test_a_disabled_appliance_shows_dashes() -> None:
    row = fleet_row(ApplianceView(_status()), NOW)
    assert (row.name, row.mode, row.state_text, row.port) == (
        "mail-gw-1",
        "TUNNEL",
        "DISABLED",
        "25",
    )
    assert (row.since, row.expires, row.service_text) == ("—", "—", "")


def test_an_appliance_in_service_names_the_engineer_and_its_countdown() -> None:
    session = SessionView("mail-gw-1#1", "alice", "127.0.0.1:4000", NOW, 10, 20)
    status = _status(
        enabled=True,
        state=TunnelState.SERVICE,
        port=443,
        selected_port=443,
        expires_at=NOW + 7 * 86400,
        sessions=(session,),
    )
    row = fleet_row(ApplianceView(status), NOW)
    assert row.port == "443" and row.expires == "7d 00h"
    assert row.service_text == "(SERVICE) alice" and row.in_service


def test_sshaccess_goes_via_its_gateway_on_port_22() -> None:
    status = _status(
        mode=Mode.SSHACCESS, gateway="mail-gw-1", enabled=True, state=TunnelState.READY
    )
    row = fleet_row(ApplianceView(status), NOW)
    assert (row.relay, row.port, row.mode) == ("via mail-gw-1", "22", "SSHACCESS")


def test_a_retry_counts_its_attempts() -> None:
    row = fleet_row(
        ApplianceView(_status(enabled=True, state=TunnelState.RETRYING, attempt=3)), NOW
    )
    assert row.state_text == "RETRYING #3"


def test_the_filter_matches_any_searched_column_without_case() -> None:
    row = fleet_row(ApplianceView(_status()), NOW)
    assert matches(row, "") and matches(row, "MAIL") and matches(row, "fch2143")
    assert matches(row, "disabled") and matches(row, "c.tunnels")
    assert not matches(row, "service") and not matches(row, "zzz")


def test_log_windows_hand_out_only_newer_lines() -> None:
    lines = deque(
        (LogLine(seq, NOW, "", Level.INFO, f"line {seq}") for seq in range(1, 8)), maxlen=5
    )
    assert [line.seq for line in lines_after(lines, 5)] == [6, 7]
    assert [line.seq for line in lines_after(lines, 0)] == [3, 4, 5, 6, 7]
    assert lines_after(lines, 7) == []
