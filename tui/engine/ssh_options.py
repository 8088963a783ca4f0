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

# What the relay offers: AES-GCM only. The client's order decides, and a stock OpenSSH client
# lists chacha20-poly1305, then aes128-ctr, before aes128-gcm: offering the CTR ciphers made
# every engineer's bytes cross the relay as AES-CTR with UMAC, which asyncssh computes in
# Python per packet (`python -m tests.perf --only throughput`, profiled: UMAC was the relay's
# largest cost). Every OpenSSH since 6.2, PuTTY since 0.76 and libssh since 0.9 speak it.
RELAY_ENCRYPTION_ALGS = list(_PREFERRED_CIPHERS)

# Large windows keep a WAN path full (2 MiB per 50 ms round trip caps a channel at ~42 MB/s).
CHANNEL_WINDOW = 16 * 1024 * 1024
# Larger packets on rac's own channels: fewer packets, less Python per byte. Peers that send
# smaller ones (OpenSSH caps its own at 32 KiB) are unaffected.
CHANNEL_MAX_PACKET = 256 * 1024
KEEPALIVE_INTERVAL = 15.0
KEEPALIVE_COUNT_MAX = 3
