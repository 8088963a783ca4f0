"""`rac lab`: the relay on six loopback ports, a DNS responder, a support CA, an engineer key
and an inventory of lab appliances — everything a newcomer needs to see the whole flow work.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from tui.engine.errors import RacError
from tui.engine.inventory import RELAY_PORTS
from tui.engine.keys import fingerprint, load_or_create_key
from tui.engine.lab.dns_responder import DnsResponder
from tui.engine.lab.lab_fleet import LAB_APPLIANCES, LAB_DOMAIN, LAB_ENGINEER, relay_names
from tui.engine.locations import default_lab_dir
from tui.engine.relay.relay_config import PreauthLimits, RelayConfig
from tui.engine.relay.relay_server import Relay
from tui.engine.secure_files import (
    check_private,
    ensure_own_private_dir,
    write_private,
)

LOOPBACK = "127.0.0.1"
LAB_PENALTY_EXEMPT = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True, slots=True)
class LabInfo:
    """What `lab.json` says: where everything of a running lab is."""

    directory: Path
    relay_ports: dict[str, int]
    relay_host: str
    relay_fingerprint: str
    known_hosts: Path
    dns: str
    domain: str
    inventory: Path
    engineer_key: Path
    engineer: str
    support_ca_key: Path
    state_dir: Path
    pid: int
    nodes: tuple[dict[str, Any], ...] = ()
    """`rac lab --relays N`: each relay node's id, pid, address, port map and peer port."""
    redis: str = ""
    """`rac lab --relays N`: the route directory's Redis, host:port."""

    def to_json(self) -> dict[str, Any]:
        """The `lab.json` document."""
        document: dict[str, Any] = {
            "pid": self.pid,
            "directory": str(self.directory),
            "relay": {
                "host": self.relay_host,
                "ports": self.relay_ports,
                "fingerprint": self.relay_fingerprint,
                "known_hosts": str(self.known_hosts),
            },
            "dns": self.dns,
            "domain": self.domain,
            "inventory": str(self.inventory),
            "engineer": self.engineer,
            "engineer_key": str(self.engineer_key),
            "support_ca_key": str(self.support_ca_key),
            "state_dir": str(self.state_dir),
        }
        if self.nodes:
            document["nodes"] = list(self.nodes)
            document["redis"] = self.redis
        return document

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabInfo:
        """Read a `lab.json` document back."""
        relay = data["relay"]
        return cls(
            Path(data["directory"]),
            {k: int(v) for k, v in relay["ports"].items()},
            relay["host"],
            relay["fingerprint"],
            Path(relay["known_hosts"]),
            data["dns"],
            data["domain"],
            Path(data["inventory"]),
            Path(data["engineer_key"]),
            data["engineer"],
            Path(data["support_ca_key"]),
            Path(data["state_dir"]),
            int(data["pid"]),
            tuple(data.get("nodes", ())),
            str(data.get("redis", "")),
        )


def read_lab_info(directory: Path) -> LabInfo:
    """The running lab in `directory`, or a sentence saying how to start one."""
    path = directory / "lab.json"
    check_private(directory, "the lab directory")
    try:
        info = LabInfo.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise RacError(
            f"No lab found in {directory}: start one with `rac lab` (or `rac`) first."
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise RacError(f"{path} is damaged ({error}); restart the lab.") from None
    if not _alive(info.pid):
        raise RacError(
            f"The lab in {directory} is not running (pid {info.pid} has exited): "
            "start it with `rac lab` or `rac`."
        )
    return info


def lab_dir_option(info: LabInfo) -> str:
    """` --state-dir DIR` when the lab is not in the default place, so hints stay exact."""
    if info.directory == default_lab_dir().resolve():
        return ""
    return f" --state-dir {info.directory}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lab:
    """Start and stop the lab's servers; files live in one directory."""

    def __init__(
        self, directory: Path, *, dns_port: int = 0, relay_settings: dict[str, Any] | None = None
    ) -> None:
        self.directory = directory.expanduser().resolve()
        self.dns_port = dns_port
        self.relay_settings = relay_settings or {}
        self.relay: Relay | None = None
        self.dns: DnsResponder | None = None
        self.info: LabInfo | None = None

    async def start(self) -> LabInfo:
        """Bring everything up on loopback and write `lab.json`."""
        directory = ensure_own_private_dir(self.directory, "the lab directory")
        self._refuse_second_lab()
        load_or_create_key(directory / "support_ca_ed25519", "rac lab support CA")
        engineer_key = load_or_create_key(directory / "engineer_ed25519", LAB_ENGINEER)
        relay_dir = ensure_own_private_dir(directory / "relay", "the lab relay's directory")
        (relay_dir / "engineers_authorized_keys").write_bytes(engineer_key.export_public_key())
        # Everyone in the lab is on loopback: penalties would only lock the newcomer out.
        relay_config = RelayConfig(
            listen=LOOPBACK,
            ports=(0,) * len(RELAY_PORTS),
            enroll_on_first_use=True,
            source=relay_dir / "relay.toml",
            **{"preauth": PreauthLimits(penalty_exempt=LAB_PENALTY_EXEMPT), **self.relay_settings},
        )
        relay = Relay(relay_config)
        ports = await relay.start()
        self.relay = relay
        port_map = {str(nominal): real for nominal, real in zip(RELAY_PORTS, ports, strict=True)}
        names = relay_names(LAB_DOMAIN)
        self.dns = DnsResponder({name: [LOOPBACK] for name in names})
        dns_address = await self.dns.start(LOOPBACK, self.dns_port)
        known_hosts = directory / "known_hosts"
        hosts = ",".join(names + [f"[{LOOPBACK}]:{port}" for port in ports])
        write_private(
            known_hosts, f"{hosts} {relay.host_key.export_public_key().decode().strip()}\n"
        )
        inventory = directory / "inventory.toml"
        write_private(inventory, tomli_w.dumps(inventory_document(dns_address, port_map)))
        info = LabInfo(
            directory,
            port_map,
            LOOPBACK,
            fingerprint(relay.host_key),
            known_hosts,
            dns_address,
            LAB_DOMAIN,
            inventory,
            directory / "engineer_ed25519",
            LAB_ENGINEER,
            directory / "support_ca_ed25519",
            ensure_own_private_dir(directory / "state", "the lab's state directory"),
            os.getpid(),
        )
        write_private(directory / "lab.json", json.dumps(info.to_json(), indent=2))
        self.info = info
        return info

    async def restart_relay(self) -> None:
        """Stop the relay and start a fresh one on the same ports (agents must come back)."""
        assert self.relay is not None
        config = self.relay.config.model_copy(update={"ports": tuple(self.relay.ports)})
        await self.relay.close()
        self.relay = Relay(config)
        await self.relay.start()

    def _refuse_second_lab(self) -> None:
        path = self.directory / "lab.json"
        try:
            pid = int(json.loads(path.read_text(encoding="utf-8"))["pid"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return
        if pid != os.getpid() and _alive(pid):
            raise RacError(
                f"A lab is already running in {self.directory} (pid {pid}). "
                "Use it, stop it, or give another --state-dir."
            )

    async def close(self) -> None:
        """Stop the servers; `lab.json` goes so nobody dials a dead lab."""
        if self.dns is not None:
            self.dns.close()
        if self.relay is not None:
            await self.relay.close()
        (self.directory / "lab.json").unlink(missing_ok=True)


def inventory_document(dns_address: str, port_map: dict[str, int]) -> dict[str, Any]:
    """The lab's inventory: its relay names, DNS, pins and appliances."""
    return {
        "relay": {
            "domain": LAB_DOMAIN,
            "nameservers": [dns_address],
            "known_hosts": "known_hosts",
            "support_ca": "support_ca_ed25519.pub",
            "connect_timeout": 5.0,
            "port_map": port_map,
        },
        "appliance": LAB_APPLIANCES,
    }
