"""`IP[:PORT]`, the way a DNS server is written in the inventory and on the command line.

One parser for all of them, so a server the inventory accepts is one the probe and the resolver
read the same way. IPv6 with a port is written `[::1]:5353`.
"""

from __future__ import annotations

import ipaddress

DNS_PORT = 53


def parse_nameserver(value: str) -> tuple[str, int]:
    """(`IP`, port) from `IP[:PORT]`; raises ValueError naming what is wrong with `value`."""
    text = value.strip()
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ValueError(f"{value!r} is not an IP address or IP:PORT")
        port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or IP:PORT") from None
    if not port:
        return host, DNS_PORT
    if not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{value!r} has a port outside 1-65535")
    return host, int(port)
