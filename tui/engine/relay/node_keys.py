"""`peers_authorized_keys`: one line per relay node, `ssh-ed25519 AAAA… node-id`.

The comment of each key is the node id the key may log in as on the hop. The relay's start
checks refuse a file with a line that is not a key or names no node (naming the line); a node
already running skips such a line after an edit, so a typo cannot cut the hops that work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncssh

NODE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
"""What a node id may be (`[cluster] node_id`, and the comment of its key)."""


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line of `peers_authorized_keys` that gives no usable node key, and why."""

    number: int
    why: str


def parse_node_keys(text: str) -> tuple[dict[str, list[asyncssh.SSHKey]], list[BadLine]]:
    """Node id → its public keys, and the lines that could not be used."""
    nodes: dict[str, list[asyncssh.SSHKey]] = {}
    bad: list[BadLine] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            key = asyncssh.import_public_key(stripped)
        except (asyncssh.KeyImportError, ValueError):
            bad.append(BadLine(number, "is not an OpenSSH public key (type, base64, node id)"))
            continue
        node = key.get_comment() or ""
        if not node:
            bad.append(BadLine(number, "names no node: put the node id after the key"))
        elif not NODE_ID.match(node):
            bad.append(BadLine(number, "ends in a comment that is not a node id"))
        else:
            nodes.setdefault(node, []).append(key)
    return nodes, bad
