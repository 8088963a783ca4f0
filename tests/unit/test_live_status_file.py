"""`live.json` is assembled from each appliance's kept JSON text: it must read exactly as the
whole document serialised at once, and rows that did not change keep their last state."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tui.engine.live_status import LiveStatusFile
from tui.engine.states import Mode, TunnelState
from tui.engine.status import ApplianceStatus

NOW = 1_796_040_000.25


def _status(name: str, state: TunnelState) -> ApplianceStatus:
    return ApplianceStatus(
        name=name,
        serial=f"{name}-SERIAL",
        series="C",
        model="C695",
        mode=Mode.TUNNEL,
        enabled=True,
        state=state,
        relay_host="c.tunnels.rac.test",
        port=25,
        selected_port=25,
        since=NOW,
        detail='a "quoted" détail',
    )


def test_the_file_is_the_document_serialised_at_once(tmp_path: Path) -> None:
    states = {"gw-1": TunnelState.ESTABLISHED, 'odd "name"': TunnelState.RETRYING}
    live = LiveStatusFile(
        tmp_path,
        lambda: NOW,
        statuses=lambda names: [_status(n, states[n]) for n in sorted(names)],
        busy=lambda: [],
    )
    for name in states:
        live.changed(name)
    live.flush()
    states["gw-1"] = TunnelState.SERVICE
    live.changed("gw-1")  # only this one changes: the other row is kept as it was
    live.flush()
    text = (tmp_path / "live.json").read_text()
    expected = {
        "pid": os.getpid(),
        "updated": NOW,
        "appliances": {
            "gw-1": _status("gw-1", TunnelState.SERVICE).to_json(),
            'odd "name"': _status('odd "name"', TunnelState.RETRYING).to_json(),
        },
    }
    assert json.loads(text) == expected
    assert text == json.dumps(expected)
