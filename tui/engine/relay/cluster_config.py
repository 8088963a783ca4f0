"""The `[cluster]` table of `rac relay --config`: this node's id, Redis, and the peer hop."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tui.engine.relay.directory import DEFAULT_ROUTE_TTL
from tui.engine.relay.node_keys import NODE_ID

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class ClusterConfig(BaseModel):
    """Without this table the relay is one node with its routes in memory (the default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node_id: str
    redis: str = Field(default="redis://127.0.0.1:6379/0", repr=False)
    """`redis://[:password@]host:port/db`, `rediss://` for TLS; never logged as written."""
    peer_listen: str = "127.0.0.1:4767"
    peer_key: str = "peer_ed25519"
    peers_authorized_keys: str = "peers_authorized_keys"
    route_ttl: float = Field(default=DEFAULT_ROUTE_TTL, ge=1.0, le=3600.0)
    redis_tls_ca: str | None = None
    """`rediss://`: the CA file (PEM) that signed Redis's certificate (default: the system's)."""
    redis_tls_cert: str | None = None
    """`rediss://` with `tls-auth-clients`: this node's client certificate (PEM)."""
    redis_tls_key: str | None = None
    """Its private key (PEM, unencrypted, mode 0600)."""

    @field_validator("node_id")
    @classmethod
    def _valid_node_id(cls, node_id: str) -> str:
        if not NODE_ID.match(node_id):
            raise ValueError("a node id is 1-63 letters, digits, '.', '_' or '-'")
        return node_id

    @field_validator("redis")
    @classmethod
    def _valid_redis(cls, url: str) -> str:
        # The message never repeats the value: it may hold a password.
        if not url.startswith(REDIS_SCHEMES):
            raise ValueError("give a URL starting with redis://, rediss:// (TLS) or unix://")
        return url

    @model_validator(mode="after")
    def _tls_files_need_rediss(self) -> ClusterConfig:
        tls = self.redis_tls_ca or self.redis_tls_cert or self.redis_tls_key
        if tls and not self.redis.startswith("rediss://"):
            raise ValueError("redis_tls_* files need a rediss:// URL in redis")
        if bool(self.redis_tls_cert) != bool(self.redis_tls_key):
            raise ValueError("give redis_tls_cert and redis_tls_key together")
        return self

    @field_validator("peer_listen")
    @classmethod
    def _valid_peer_listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("give host:port, e.g. 10.0.0.5:4767")
        return value

    @property
    def peer_host(self) -> str:
        """The address the peer listener binds."""
        return self.peer_listen.rpartition(":")[0].strip("[]")

    @property
    def peer_port(self) -> int:
        """The port the peer listener binds (0: a free one, for tests)."""
        return int(self.peer_listen.rpartition(":")[2])
