"""SSH algorithm and window choices shared by agent, relay, endpoint and support client."""

from __future__ import annotations

import asyncssh.encryption

_PREFERRED_CIPHERS = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]

# aes128-gcm is ~1.6x faster than asyncssh's default chacha20-poly1305 on a small x86 machine
# (`python -m tests.perf --only throughput`); the rest of asyncssh's defaults follow for peers
# that lack it.
ENCRYPTION_ALGS = _PREFERRED_CIPHERS + [
    name.decode()
    for name in asyncssh.encryption.get_default_encryption_algs()
    if name.decode() not in _PREFERRED_CIPHERS
]

# What the relay offers: without chacha20-poly1305, so that a stock OpenSSH engineer client
# (which lists chacha20 first) settles on AES-GCM, 1.6x faster through asyncssh.
# Every OpenSSH since 6.2 speaks aes128-gcm@openssh.com.
RELAY_ENCRYPTION_ALGS = [name for name in ENCRYPTION_ALGS if not name.startswith("chacha20")]

# Large windows keep a WAN path full (2 MiB per 50 ms round trip caps a channel at ~42 MB/s).
CHANNEL_WINDOW = 16 * 1024 * 1024
# Larger packets on rac's own channels: fewer packets, less Python per byte. Peers that send
# smaller ones (OpenSSH caps its own at 32 KiB) are unaffected.
CHANNEL_MAX_PACKET = 256 * 1024
KEEPALIVE_INTERVAL = 15.0
KEEPALIVE_COUNT_MAX = 3
