"""SSH algorithm and window choices shared by agent, relay, endpoint and support client."""

from __future__ import annotations

import asyncssh.encryption

_PREFERRED_CIPHERS = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]

# aes128-gcm is ~1.6x faster than asyncssh's default chacha20-poly1305 on this kind of machine
# (BASELINES.md); the rest of asyncssh's defaults follow for peers that lack it.
ENCRYPTION_ALGS = _PREFERRED_CIPHERS + [
    name.decode() for name in asyncssh.encryption.get_default_encryption_algs()
    if name.decode() not in _PREFERRED_CIPHERS
]

# Large windows keep a WAN path full (2 MiB per 50 ms round trip caps a channel at ~42 MB/s).
CHANNEL_WINDOW = 16 * 1024 * 1024
KEEPALIVE_INTERVAL = 15.0
KEEPALIVE_COUNT_MAX = 3
