"""`IP[:PORT]`: one parser for the inventory, `rac probe --nameserver` and the resolver."""

from __future__ import annotations

import pytest

from tui.engine.nameserver_address import DNS_PORT, parse_nameserver


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1", ("127.0.0.1", DNS_PORT)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", DNS_PORT)),
        ("[::1]:5353", ("::1", 5353)),
        ("[::1]", ("::1", DNS_PORT)),
        ("2001:db8::53", ("2001:db8::53", DNS_PORT)),
        (" 10.0.0.2:53 ", ("10.0.0.2", 53)),
    ],
)
def test_addresses_and_ports(text: str, parsed: tuple[str, int]) -> None:
    assert parse_nameserver(text) == parsed


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("dns.example.net", "is not an IP address or IP:PORT"),
        ("127.0.0.1:dns", "has a port outside 1-65535"),
        ("127.0.0.1:0", "has a port outside 1-65535"),
        ("127.0.0.1:65536", "has a port outside 1-65535"),
        ("[::1]x", "is not an IP address or IP:PORT"),
        ("[::1", "is not an IP address or IP:PORT"),
    ],
)
def test_bad_servers_are_named(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as caught:
        parse_nameserver(text)
    assert repr(text) in str(caught.value)
