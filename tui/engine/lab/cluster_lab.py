"""`rac lab --relays N`: a real Redis and N relay nodes, each its own `rac relay` process.

Node i listens on 127.0.0.i (the whole 127/8 is loopback on Linux) on the same six ports as
the others, so one port map serves every address; DNS answers each relay name with all the
node addresses (round robin) and appliances hold two tunnels on two different nodes. A test
can `kill -9` one node (its pid is in `lab.json`) or restart Redis. With a restart delay (as
`rac lab --relays N` runs it) a node that dies is started again after that delay, the way
systemd restarts a failed `rac-relay.service`, so a failover can be watched both ways;
`lab.json` is rewritten (atomically) whenever a node's pid or peer port changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import tomli_w

from tui.engine.errors import RacError
from tui.engine.inventory import RELAY_PORTS
from tui.engine.keys import fingerprint, load_or_create_key
from tui.engine.lab.dns_responder import DnsResponder
from tui.engine.lab.lab import LAB_PENALTY_EXEMPT, Lab, LabInfo, inventory_document
from tui.engine.lab.lab_fleet import LAB_DOMAIN, LAB_ENGINEER, relay_names
from tui.engine.relay.redis_directory import RedisDirectory, RedisTls
from tui.engine.secure_files import ensure_own_private_dir, ensure_private_dir, write_private

START_TIMEOUT = 30.0
REDIS_PACKAGE = "redis-server"
RESTART_DELAY = 2.0
"""How long `rac lab --relays N` waits before starting a node that died again: the
`RestartSec=` of `deploy/rac-relay.service`, long enough to watch the failover."""


@dataclass(frozen=True, slots=True)
class LabRedisTls:
    """TLS for the lab's Redis: its certificate and key, the CA that signed it (and the
    nodes' client certificate when Redis must see one)."""

    server_cert: Path
    server_key: Path
    ca: Path
    client_cert: Path | None = None
    client_key: Path | None = None

    def client(self) -> RedisTls:
        """What a node (or an observer) needs to connect."""
        return RedisTls(
            str(self.ca),
            str(self.client_cert) if self.client_cert else None,
            str(self.client_key) if self.client_key else None,
        )


@dataclass(slots=True)
class LabNode:
    """One relay node of the lab: its process and where it listens."""

    node_id: str
    address: str
    config: Path
    process: asyncio.subprocess.Process | None = None
    peer_port: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0


def find_redis_server() -> str:
    """redis-server on PATH or in /usr/bin, or a sentence naming the package to install."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None
    )
    if found is None:
        raise RacError(
            "rac lab --relays needs redis-server, which is not installed: "
            f"install the Debian package {REDIS_PACKAGE} "
            f"(apt-get install {REDIS_PACKAGE})."
        )
    return found


def shared_free_ports(addresses: list[str], count: int) -> list[int]:
    """`count` ports free on every address at once (the OS picks them on the first)."""
    ports: list[int] = []
    for _ in range(50 * count):
        if len(ports) == count:
            break
        held = []
        try:
            first = socket.socket()
            held.append(first)
            first.bind((addresses[0], 0))
            port = first.getsockname()[1]
            for address in addresses[1:]:
                other = socket.socket()
                held.append(other)
                other.bind((address, port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        if port not in ports:
            ports.append(port)
    if len(ports) < count:
        raise RacError(f"No {count} free ports shared by {', '.join(addresses)}.")
    return ports


class ClusterLab(Lab):
    """The lab with Redis and several relay node processes instead of one in-process relay."""

    def __init__(
        self,
        directory: Path,
        *,
        relays: int = 3,
        dns_port: int = 0,
        route_ttl: float = 30.0,
        restart_delay: float | None = None,
        log: Callable[[str], None] = lambda line: None,
        redis_password: str = "",
        redis_tls: LabRedisTls | None = None,
    ) -> None:
        super().__init__(directory, dns_port=dns_port)
        self.relays = relays
        self.route_ttl = route_ttl
        self.restart_delay = restart_delay
        """None: a node that dies stays down (tests that watch entries expire)."""
        self.log = log
        self.redis_password = redis_password
        """Given to redis-server on its stdin and to the nodes in their 0600 configs only."""
        self.redis_tls = redis_tls
        self.nodes: list[LabNode] = []
        self.redis: asyncio.subprocess.Process | None = None
        self.redis_port = 0
        self._redis_binary = ""
        self._port_map: dict[str, int] = {}
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._restarts: set[asyncio.Task[None]] = set()

    @property
    def redis_url(self) -> str:
        """The URL nodes use (with the password, if any: never print it)."""
        scheme = "rediss" if self.redis_tls else "redis"
        secret = f":{quote(self.redis_password, safe='')}@" if self.redis_password else ""
        return f"{scheme}://{secret}127.0.0.1:{self.redis_port}/0"

    def directory_client(self, name: str, ttl: float = 30.0) -> RedisDirectory:
        """A directory client on the lab's Redis that holds nothing (to watch the nodes)."""
        tls = self.redis_tls.client() if self.redis_tls else None
        return RedisDirectory(name, "", self.redis_url, ttl=ttl, tls=tls)

    async def start(self) -> LabInfo:
        """Redis, the nodes, DNS with every node address, keys and inventory; `lab.json`."""
        self._redis_binary = find_redis_server()
        directory = ensure_own_private_dir(self.directory, "the lab directory")
        self._refuse_second_lab()
        try:
            return await self._start(directory)
        except BaseException:
            await self.close()
            raise

    async def _start(self, directory: Path) -> LabInfo:
        load_or_create_key(directory / "support_ca_ed25519", "rac lab support CA")
        engineer_key = load_or_create_key(directory / "engineer_ed25519", LAB_ENGINEER)
        relay_dir = ensure_own_private_dir(directory / "relay", "the lab relay's directory")
        engineers = relay_dir / "engineers_authorized_keys"
        engineers.write_bytes(engineer_key.export_public_key())
        host_key = load_or_create_key(relay_dir / "relay_host_ed25519", "rac relay")
        ensure_private_dir(relay_dir / "agents")
        await self.start_redis(ensure_private_dir(directory / "redis"))
        addresses = [f"127.0.0.{i + 1}" for i in range(self.relays)]
        ports = shared_free_ports(addresses, len(RELAY_PORTS))
        peers = relay_dir / "peers_authorized_keys"
        node_keys = []
        for i, address in enumerate(addresses):
            node_id = f"node-{i + 1}"
            node_dir = ensure_private_dir(relay_dir / node_id)
            key = load_or_create_key(node_dir / "peer_ed25519", node_id)
            node_keys.append(key.export_public_key().decode().strip())
            config = node_dir / "relay.toml"
            write_private(
                config, tomli_w.dumps(self._node_config(relay_dir, node_id, address, ports))
            )
            self.nodes.append(LabNode(node_id, address, config))
        write_private(peers, "\n".join(node_keys) + "\n")
        await asyncio.gather(*(self.start_node(node) for node in self.nodes))
        port_map = {str(nominal): real for nominal, real in zip(RELAY_PORTS, ports, strict=True)}
        self._port_map = port_map
        names = relay_names(LAB_DOMAIN)
        self.dns = DnsResponder({name: addresses for name in names})
        dns_address = await self.dns.start("127.0.0.1", self.dns_port)
        known_hosts = directory / "known_hosts"
        hosts = ",".join(names + [f"[{a}]:{p}" for a in addresses for p in ports])
        write_private(known_hosts, f"{hosts} {host_key.export_public_key().decode().strip()}\n")
        inventory = directory / "inventory.toml"
        document = inventory_document(dns_address, port_map)
        document["relay"]["connections"] = 2
        write_private(inventory, tomli_w.dumps(document))
        info = LabInfo(
            directory,
            port_map,
            addresses[0],
            fingerprint(host_key),
            known_hosts,
            dns_address,
            LAB_DOMAIN,
            inventory,
            directory / "engineer_ed25519",
            LAB_ENGINEER,
            directory / "support_ca_ed25519",
            ensure_private_dir(directory / "state"),
            os.getpid(),
            nodes=tuple(self.node_json(node, port_map) for node in self.nodes),
            redis=f"127.0.0.1:{self.redis_port}",
        )
        self.info = info
        self._write_lab_json()
        return info

    def _write_lab_json(self) -> None:
        """`lab.json` with every node's current pid and peer port (replaced atomically, so a
        reader never sees half a file)."""
        if self.info is None:
            return  # still starting: written once every node is up
        self.info = replace(
            self.info, nodes=tuple(self.node_json(node, self._port_map) for node in self.nodes)
        )
        write_private(self.directory / "lab.json", json.dumps(self.info.to_json(), indent=2))

    def _node_config(
        self, relay_dir: Path, node_id: str, address: str, ports: list[int]
    ) -> dict[str, Any]:
        return {
            "listen": address,
            "ports": ports,
            "host_key": str(relay_dir / "relay_host_ed25519"),
            "agents_dir": str(relay_dir / "agents"),
            "engineers": str(relay_dir / "engineers_authorized_keys"),
            "enroll_on_first_use": True,
            "audit_log": "relay-audit.jsonl",
            # Everyone in the lab is on loopback: penalties would only lock the newcomer out.
            "preauth": {"penalty_exempt": list(LAB_PENALTY_EXEMPT)},
            "cluster": {
                "node_id": node_id,
                "redis": self.redis_url,
                "peer_listen": f"{address}:0",
                "peer_key": "peer_ed25519",
                "peers_authorized_keys": str(relay_dir / "peers_authorized_keys"),
                "route_ttl": self.route_ttl,
                **self._tls_config(),
            },
        }

    def _tls_config(self) -> dict[str, str]:
        tls = self.redis_tls
        if tls is None:
            return {}
        config = {"redis_tls_ca": str(tls.ca)}
        if tls.client_cert and tls.client_key:
            config["redis_tls_cert"] = str(tls.client_cert)
            config["redis_tls_key"] = str(tls.client_key)
        return config

    @staticmethod
    def node_json(node: LabNode, port_map: dict[str, int]) -> dict[str, Any]:
        """A node as `lab.json` lists it."""
        return {
            "id": node.node_id,
            "pid": node.pid,
            "address": node.address,
            "ports": port_map,
            "peer": f"{node.address}:{node.peer_port}",
            "config": str(node.config),
        }

    async def start_redis(self, directory: Path) -> None:
        """Start redis-server on a free loopback port, saving nothing, and wait until ready.
        Its settings go in on stdin (`redis-server -`): the password is never in an argv."""
        self._redis_binary = self._redis_binary or find_redis_server()
        self.redis_port = self.redis_port or shared_free_ports(["127.0.0.1"], 1)[0]
        self.redis = await asyncio.create_subprocess_exec(
            self._redis_binary,
            "-",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert self.redis.stdin is not None
        self.redis.stdin.write(self._redis_settings(directory).encode())
        self.redis.stdin.close()
        await self._wait_for_line(self.redis, "Ready to accept connections", "redis-server")

    def _redis_settings(self, directory: Path) -> str:
        settings = [
            ("bind", "127.0.0.1"),
            ("save", ""),
            ("appendonly", "no"),
            ("dir", str(directory)),
        ]
        tls = self.redis_tls
        if tls is None:
            settings.append(("port", str(self.redis_port)))
        else:
            settings += [
                ("port", "0"),
                ("tls-port", str(self.redis_port)),
                ("tls-cert-file", str(tls.server_cert)),
                ("tls-key-file", str(tls.server_key)),
                ("tls-ca-cert-file", str(tls.ca)),
                ("tls-auth-clients", "yes" if tls.client_cert else "no"),
            ]
        if self.redis_password:
            settings.append(("requirepass", self.redis_password))
        return "".join(f"{name} {_redis_quoted(value)}\n" for name, value in settings)

    async def restart_redis(self) -> None:
        """Stop Redis (its data goes: nothing is saved) and start it on the same port."""
        await self.stop_redis()
        await self.start_redis(self.directory / "redis")

    async def stop_redis(self) -> None:
        """Stop Redis; relay nodes keep serving local routes meanwhile."""
        if self.redis is not None and self.redis.returncode is None:
            self.redis.kill()
            await self.redis.wait()
        self.redis = None

    async def start_node(self, node: LabNode) -> None:
        """Start (or restart) one node's `rac relay --config` process."""
        node.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tui",
            "relay",
            "--config",
            str(node.config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=str(node.config.parent),
        )
        line = await self._wait_for_line(node.process, "cluster node", f"relay {node.node_id}")
        node.peer_port = int(line.split(" peer hop on ")[1].split(",")[0].rpartition(":")[2])
        self._keep(self._drain(node.process, node.config.parent / "relay.log"))
        self._write_lab_json()
        if self.restart_delay is not None:
            self._keep(self._restart_when_dead(node, node.process), self._restarts)

    def _keep(
        self, work: Coroutine[Any, Any, None], tasks: set[asyncio.Task[None]] | None = None
    ) -> None:
        """Run `work` as a task the lab holds until it ends (close cancels what is left)."""
        held = self._tasks if tasks is None else tasks
        task = asyncio.get_running_loop().create_task(work)
        held.add(task)
        task.add_done_callback(held.discard)

    async def _restart_when_dead(self, node: LabNode, process: asyncio.subprocess.Process) -> None:
        """Start `node` again `restart_delay` after its process ended (unless the lab is
        closing or someone restarted it meanwhile)."""
        assert self.restart_delay is not None
        code = await process.wait()
        if self._closing or node.process is not process:
            return
        self.log(
            f"relay {node.node_id} (pid {process.pid}) ended with {_exit_status(code)}; "
            f"restarting it in {self.restart_delay:g} s"
        )
        await asyncio.sleep(self.restart_delay)
        if self._closing or node.process is not process:
            return
        try:
            await self.start_node(node)
        except RacError as error:
            self.log(f"relay {node.node_id} did not come back: {error.sentence}")
            return
        self.log(
            f"relay {node.node_id} restarted: pid {node.pid}, peer hop {node.address}:"
            f"{node.peer_port}"
        )

    def kill_node(self, node: LabNode) -> None:
        """`kill -9` a node: no clean shutdown, its directory entries must expire."""
        if node.process is not None and node.process.returncode is None:
            node.process.send_signal(signal.SIGKILL)

    @staticmethod
    async def _drain(process: asyncio.subprocess.Process, log: Path) -> None:
        """Keep a node's output in `relay.log` beside its config (and its pipe empty)."""
        assert process.stdout is not None
        with contextlib.suppress(Exception), log.open("ab") as out:
            while line := await process.stdout.readline():
                out.write(line)
                out.flush()

    @staticmethod
    async def _wait_for_line(process: asyncio.subprocess.Process, marker: str, what: str) -> str:
        assert process.stdout is not None
        seen: list[str] = []
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while True:
                    raw = await process.stdout.readline()
                    if not raw:
                        break
                    line = raw.decode(errors="replace").rstrip()
                    seen.append(line)
                    if marker in line:
                        return line
        except TimeoutError:
            pass
        last = seen[-1] if seen else "no output"
        raise RacError(f"The lab's {what} did not start: {last}")

    async def close(self) -> None:
        """Stop DNS, every node (cleanly: their entries go) and Redis; `lab.json` goes."""
        self._closing = True  # a node ending from here on is not restarted
        restarts = list(self._restarts)
        for task in restarts:
            task.cancel()
        await asyncio.gather(*restarts, return_exceptions=True)  # none starts a node after
        if self.dns is not None:
            self.dns.close()
        for node in self.nodes:
            if node.process is not None and node.process.returncode is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                try:
                    async with asyncio.timeout(10):
                        await node.process.wait()
                except TimeoutError:
                    node.process.kill()
                    await node.process.wait()
        for task in list(self._tasks):
            task.cancel()
        await self.stop_redis()
        (self.directory / "lab.json").unlink(missing_ok=True)


def _exit_status(code: int) -> str:
    """`signal 9 (SIGKILL)` or `exit code 1`, as a lab user reads it."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {-code} ({signal.Signals(-code).name})"
        return f"signal {-code}"
    return f"exit code {code}"


def _redis_quoted(value: str) -> str:
    """A value for redis.conf, quoted so spaces, quotes and backslashes survive."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
