"""Machine-readable failure reasons, the stage each stops at, and the sentence an operator can
act on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tui.engine.port_preference import next_port_to_try
from tui.engine.stages import Stage


class Reason(StrEnum):
    """Why a tunnel attempt failed or stopped, and the stage it failed at.

    A member is declared with its stage (`NAME = "code", Stage.X`): a reason cannot exist
    without one, so the stage track never has to guess from the code's spelling.
    """

    _stage: Stage

    def __new__(cls, code: str, stage: Stage) -> Reason:
        member = str.__new__(cls, code)
        member._value_ = code
        member._stage = stage
        return member

    DNS_NXDOMAIN = "dns-nxdomain", Stage.DNS
    DNS_NO_RESOLVER = "dns-no-resolver", Stage.DNS
    DNS_TIMEOUT = "dns-timeout", Stage.DNS
    DNS_SERVFAIL = "dns-servfail", Stage.DNS
    DNS_NO_ANSWER = "dns-no-answer", Stage.DNS
    TCP_REFUSED = "tcp-refused", Stage.TCP
    TCP_TIMEOUT = "tcp-timeout", Stage.TCP
    TCP_UNREACHABLE = "tcp-unreachable", Stage.TCP
    RESET = "reset", Stage.TCP
    NOT_SSH_SMTP = "not-ssh:smtp", Stage.SSH
    NOT_SSH_HTTP = "not-ssh:http", Stage.SSH
    NOT_SSH_TLS = "not-ssh:tls", Stage.SSH
    NOT_SSH_CLOSED = "not-ssh:closed", Stage.SSH
    NOT_SSH_OTHER = "not-ssh:other", Stage.SSH
    SSH_TIMEOUT = "ssh-timeout", Stage.SSH
    SSH_FAILED = "ssh-failed", Stage.SSH
    HOST_KEY_UNKNOWN = "host-key-unknown", Stage.SSH
    HOST_KEY_MISMATCH = "host-key-mismatch", Stage.SSH
    AUTH_REJECTED = "auth-rejected", Stage.AUTH
    FORWARD_REJECTED = "forward-rejected", Stage.FORWARD
    ROUTE_REFUSED = "route-refused", Stage.FORWARD
    KEEPALIVE_TIMEOUT = "keepalive-timeout", Stage.READY
    CONNECTION_LOST = "connection-lost", Stage.READY
    SUPERSEDED = "superseded", Stage.READY
    EXPIRED = "expired", Stage.READY
    GATEWAY_DOWN = "gateway-down", Stage.READY
    PROXY_REFUSED = "proxy-refused", Stage.TCP
    PROXY_AUTH = "proxy-auth", Stage.TCP
    NO_OTHER_NODE = "no-other-node", Stage.DNS

    @property
    def stage(self) -> Stage:
        """The connection stage this reason stopped the tunnel at."""
        return self._stage

    def sentence(self, *, host: str = "", port: int | None = None, gateway: str = "") -> str:
        """The operator sentence for this reason (see `operator_sentence`)."""
        return operator_sentence(self, host=host, port=port, gateway=gateway)

    @property
    def blocked_port(self) -> bool:
        """The port itself is the problem, so another port may work (port fallback)."""
        return self in _PORT_BLOCKED


_PORT_BLOCKED = frozenset(
    {
        Reason.TCP_REFUSED,
        Reason.TCP_TIMEOUT,
        Reason.RESET,
        Reason.NOT_SSH_SMTP,
        Reason.NOT_SSH_HTTP,
        Reason.NOT_SSH_TLS,
        Reason.NOT_SSH_CLOSED,
        Reason.NOT_SSH_OTHER,
        Reason.SSH_TIMEOUT,
        Reason.PROXY_REFUSED,
    }
)

ALTERNATIVE_PORT = 443

_STALLED = {
    Stage.AUTH: "finished the SSH handshake but never answered the appliance's login",
    Stage.FORWARD: "accepted the appliance's login but never answered its forward request",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt: the reason code, what was seen, and what the operator should do."""

    reason: Reason
    sentence: str
    detail: str = ""
    stalled_at: Stage | None = None
    """Where an attempt that ran out of time stopped, when that is not the reason's own stage
    (an `ssh-timeout` stalls at key exchange, login or the forward request)."""

    @property
    def stage(self) -> Stage:
        """The stage this attempt failed at: what the stage track marks."""
        return self.reason.stage if self.stalled_at is None else self.stalled_at


def operator_sentence(
    reason: Reason,
    *,
    host: str = "",
    port: int | None = None,
    gateway: str = "",
    stalled_at: Stage | None = None,
) -> str:
    """The sentence shown for `reason`; it says what happened and what to try next."""
    where = f"port {port}" if port is not None else "the relay port"
    if reason is Reason.SSH_TIMEOUT and stalled_at in _STALLED:
        # Past the key exchange a middlebox is not the suspect: the relay or the link is slow.
        return (
            f"The relay on {where} {_STALLED[stalled_at]}: the relay is overloaded, or the "
            "link is too slow for the handshake budget (the next attempt gets more time)."
        )
    try_other = f"Try port {next_port_to_try(port)}."
    sentences: dict[Reason, str] = {
        Reason.DNS_NXDOMAIN: f"The name {host} does not exist in DNS (NXDOMAIN). "
        "Check the appliance's DNS servers and the relay domain.",
        Reason.DNS_NO_RESOLVER: "No DNS server is configured, and the relay is reached by name. "
        "Add a nameserver to the inventory or to /etc/resolv.conf.",
        Reason.DNS_TIMEOUT: f"No DNS server answered for {host}. "
        "Check that the DNS servers are reachable from the appliance.",
        Reason.DNS_SERVFAIL: f"The DNS server failed to resolve {host} (SERVFAIL). "
        "Check the DNS server's forwarding.",
        Reason.DNS_NO_ANSWER: f"DNS has no address for {host}. Check the relay domain.",
        Reason.TCP_REFUSED: f"The relay refused the connection on {where}: "
        f"nothing listens there or a firewall rejects it. {try_other}",
        Reason.TCP_TIMEOUT: f"No answer on {where}: a firewall is probably dropping "
        f"outbound connections to it. {try_other}",
        Reason.TCP_UNREACHABLE: f"The relay at {host} is unreachable: there is no route. "
        "Check the appliance's default gateway.",
        Reason.RESET: f"The connection on {where} was reset before SSH began: a firewall "
        f"or proxy is cutting it. {try_other}",
        Reason.NOT_SSH_SMTP: f"Port {port} answers with an SMTP greeting: a firewall is "
        f"inspecting SMTP. {try_other}",
        Reason.NOT_SSH_HTTP: f"Port {port} answers with HTTP: a web proxy sits in the way. "
        f"{try_other}",
        Reason.NOT_SSH_TLS: f"Port {port} answers with TLS: a device is intercepting TLS. "
        f"{try_other}",
        Reason.NOT_SSH_CLOSED: f"Port {port} accepted the connection and closed it without "
        f"a word: a firewall is cutting non-conforming traffic. {try_other}",
        Reason.NOT_SSH_OTHER: f"Port {port} answers, but not with SSH: a protocol-aware "
        f"device is in the way. {try_other}",
        Reason.SSH_TIMEOUT: f"Port {port} connected but the SSH handshake never completed. "
        f"{try_other}",
        Reason.SSH_FAILED: "The SSH handshake with the relay failed.",
        Reason.HOST_KEY_UNKNOWN: f"The relay {host} presents a host key that is not pinned "
        "yet. Compare its fingerprint with the vendor's and accept it to continue.",
        Reason.HOST_KEY_MISMATCH: f"The relay {host} presents a different host key than the "
        "pinned one. This can be an attack: the tunnel stays down until you act.",
        Reason.AUTH_REJECTED: "The relay rejected this appliance's key. Ask the vendor to "
        "enrol the appliance key shown in the dashboard.",
        Reason.FORWARD_REJECTED: "The relay refused to route support to this appliance. "
        "Another appliance may claim the same serial.",
        Reason.ROUTE_REFUSED: "The relay does not route support to this appliance through "
        "its gateway: its serial is not bound to the gateway there. Ask the vendor to bind "
        "it (rac relay enrol GATEWAY-SERIAL KEYFILE --gateway-for THIS-SERIAL), then enable "
        "access again.",
        Reason.KEEPALIVE_TIMEOUT: "The relay stopped answering keepalives: the connection "
        "is gone. Reconnecting.",
        Reason.CONNECTION_LOST: "The connection to the relay was lost. Reconnecting.",
        Reason.SUPERSEDED: "Another agent with this appliance's serial connected to the "
        "relay and took its route (a second machine or process). This one stopped so the two "
        "do not take turns: stop the other one, then enable remote access here again.",
        Reason.EXPIRED: "Remote access reached the end of its lifetime. Enable it again to "
        "give support a new window.",
        Reason.GATEWAY_DOWN: f"Waiting for the gateway appliance {gateway} to bring its tunnel up.",
        Reason.PROXY_REFUSED: f"The HTTP proxy refused to connect to {host} on {where}. Ask "
        "its administrator to allow CONNECT to the relay on this port, or try another port.",
        Reason.PROXY_AUTH: "The HTTP proxy wants credentials: put them in the proxy URL "
        "(http://USER:PASSWORD@HOST:PORT).",
        Reason.NO_OTHER_NODE: f"The name {host} resolves to no relay node this appliance is "
        "not already connected to: the second tunnel waits for another node (the first one "
        "carries support meanwhile).",
    }
    return sentences[reason]


def failure(
    reason: Reason,
    *,
    host: str = "",
    port: int | None = None,
    detail: str = "",
    gateway: str = "",
    stalled_at: Stage | None = None,
) -> Failure:
    """Build a Failure with its operator sentence."""
    sentence = operator_sentence(
        reason, host=host, port=port, gateway=gateway, stalled_at=stalled_at
    )
    return Failure(reason, sentence, detail, stalled_at)
