"""A keepalive timeout no longer than the heartbeat interval would drop every idle tunnel:
the inventory says so, naming the file, the line and the field."""

from __future__ import annotations

import pytest

from tests.conftest import RunningLab
from tui.engine.errors import ConfigError
from tui.engine.inventory import load_inventory


def test_a_timeout_shorter_than_the_interval_is_refused_with_its_place(lab: RunningLab) -> None:
    path = lab.inventory_with(keepalive_interval=30.0, keepalive_timeout=19.0)
    with pytest.raises(ConfigError) as refused:
        load_inventory(path)
    assert str(path) in refused.value.sentence
    assert "relay.keepalive_timeout" in refused.value.sentence
    assert "must be longer than keepalive_interval (30 s)" in refused.value.sentence
