"""The relay's route table answers "which routes does this agent connection carry" from an
index kept with every change: a takeover moves a serial, a drop removes it."""

from __future__ import annotations

from typing import Any

from tui.engine.relay.routes import Route, RouteTable


def _route(serial: str, conn: Any, owner: str = "") -> Route:
    return Route(serial=serial, listen_host=serial, conn=conn, owner=owner or serial)


def test_routes_of_a_connection_follow_takeovers_and_drops() -> None:
    table = RouteTable()
    gateway: Any = object()
    other: Any = object()
    own, child = _route("GW-0001", gateway), _route("CHILD-01", gateway, "GW-0001")
    table.put(own)
    table.put(child)
    assert set(map(id, table.of_connection(gateway))) == {id(own), id(child)}

    moved = _route("child-01", other, "GW-0001")  # the gateway reconnected: a new connection
    assert table.put(moved) is child
    assert table.of_connection(gateway) == [own]
    assert table.of_connection(other) == [moved]

    assert not table.drop(child)  # the old route is no longer the live one
    assert table.drop(own)
    assert table.of_connection(gateway) == []
    assert table.serials() == ["child-01"]
