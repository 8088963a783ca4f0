"""A stock OpenSSH client and the relay settle on AES-GCM: the client's order decides, and it
lists AES-CTR (with UMAC, computed in Python by asyncssh) before AES-GCM, so the relay offers
AES-GCM only."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunningLab, require_openssh
from tests.openssh import client_config, copy_key, ssh


async def test_a_stock_ssh_client_talks_aes_gcm_with_the_relay(
    lab: RunningLab, tmp_path: Path
) -> None:
    require_openssh()
    key = copy_key(lab.info.engineer_key, tmp_path, "engineer")
    config = client_config(tmp_path, key, lab.info.known_hosts)
    port = str(lab.info.relay_ports["22"])

    # The relay opens no shell: the login succeeds, the session is refused.
    _, _, err = await ssh(config, "-v", "-p", port, "lab-engineer@127.0.0.1", "true")

    assert "Authenticated to 127.0.0.1" in err, err
    assert "kex: client->server cipher: aes128-gcm@openssh.com" in err, err
    assert "kex: server->client cipher: aes128-gcm@openssh.com" in err, err
