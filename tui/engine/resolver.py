"""Name resolution of the relay with dnspython, every failure named: an appliance reaches its
relay by name, so a DNS failure must say which one it is."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

from tui.engine.nameserver_address import DNS_PORT, parse_nameserver
from tui.engine.reasons import Reason

SYSTEM_RESOLV_CONF = "/etc/resolv.conf"


@dataclass(frozen=True, slots=True)
class Answer:
    """One address record."""

    rdtype: str
    address: str
    ttl: int


@dataclass(frozen=True, slots=True)
class Resolution:
    """The addresses of a host, which resolver gave them, and how long it took."""

    host: str
    answers: tuple[Answer, ...]
    resolver: str
    elapsed_ms: float

    @property
    def addresses(self) -> list[str]:
        """Addresses in the order to try them: IPv4 first, then IPv6."""
        return [answer.address for answer in self.answers]


class ResolveError(Exception):
    """Resolution failed for a named reason."""

    def __init__(self, reason: Reason, resolver: str, elapsed_ms: float) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.resolver = resolver
        self.elapsed_ms = elapsed_ms


def _build_resolver(nameservers: Sequence[str]) -> dns.asyncresolver.Resolver:
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(*parse_nameserver(value)) for value in nameservers
        ]
        return resolver
    try:
        resolver = dns.asyncresolver.Resolver(filename=SYSTEM_RESOLV_CONF)
    except (dns.resolver.NoResolverConfiguration, OSError):
        raise ResolveError(Reason.DNS_NO_RESOLVER, "none", 0.0) from None
    if not resolver.nameservers:
        raise ResolveError(Reason.DNS_NO_RESOLVER, "none", 0.0)
    return resolver


def describe_resolver(resolver: dns.asyncresolver.Resolver) -> str:
    """`127.0.0.1:5353` or `10.0.0.2` — the servers asked, for the log and the probe."""
    shown = []
    for server in resolver.nameservers:
        if isinstance(server, dns.nameserver.Do53Nameserver):
            port = f":{server.port}" if server.port != DNS_PORT else ""
            shown.append(f"{server.address}{port}")
        else:
            shown.append(str(server))
    return ", ".join(shown)


class _SharedLookups:
    """Lookups of one name through the same servers share a single query while it is in
    flight, and its answer for its TTL: a thousand agents starting at once send a handful of
    queries, not a burst that overflows the resolver."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, tuple[str, ...]], tuple[float, Resolution]] = {}
        self._pending: dict[tuple[str, tuple[str, ...]], asyncio.Future[Resolution]] = {}

    async def resolve(
        self, host: str, nameservers: tuple[str, ...], timeout: float, timer: Callable[[], float]
    ) -> Resolution:
        key = (host, nameservers)
        loop = asyncio.get_running_loop()
        kept = self._answers.get(key)
        if kept is not None and kept[0] > loop.time():
            return kept[1]
        pending = self._pending.get(key)
        if pending is not None and pending.get_loop() is loop:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if pending.cancelled() and task is not None and not task.cancelling():
                    # The lookup we joined was cancelled by its owner (an agent stopped, a
                    # check ended), not us: ask ourselves rather than die of its cancellation.
                    return await self.resolve(host, nameservers, timeout, timer)
                raise
        future: asyncio.Future[Resolution] = loop.create_future()
        self._pending[key] = future
        try:
            resolution = await _query(host, nameservers, timeout, timer)
        except asyncio.CancelledError:
            future.cancel()  # the owner stopped: a waiter asks again itself
            raise
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it, nobody logs it as lost
            raise
        else:
            future.set_result(resolution)
            ttl = min((a.ttl for a in resolution.answers), default=0)
            if ttl > 0:
                self._answers[key] = (loop.time() + ttl, resolution)
            return resolution
        finally:
            self._pending.pop(key, None)


_SHARED = _SharedLookups()


async def resolve(
    host: str,
    nameservers: Sequence[str] = (),
    *,
    timeout: float = 5.0,
    timer: Callable[[], float] = time.perf_counter,
    shared: bool = False,
) -> Resolution:
    """A and AAAA records of `host` at once; raises ResolveError with the DNS reason.

    `shared` (the agents): concurrent lookups of the same name are one query, and answers are
    reused for their TTL. The probe asks afresh every time: it reports what DNS says now.
    """
    if shared:
        return await _SHARED.resolve(host, tuple(nameservers), timeout, timer)
    return await _query(host, tuple(nameservers), timeout, timer)


async def _query(
    host: str, nameservers: tuple[str, ...], timeout: float, timer: Callable[[], float]
) -> Resolution:
    started = timer()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return Resolution(host, (Answer("literal", host, 0),), "none (address given)", 0.0)
    resolver = _build_resolver(nameservers)
    shown = describe_resolver(resolver)
    name = host if host.endswith(".") else host + "."
    results = await asyncio.gather(
        resolver.resolve(name, "A", lifetime=timeout, raise_on_no_answer=False),
        resolver.resolve(name, "AAAA", lifetime=timeout, raise_on_no_answer=False),
        return_exceptions=True,
    )
    elapsed = (timer() - started) * 1000
    answers: list[Answer] = []
    errors: list[BaseException] = []
    for result in results:
        if isinstance(result, BaseException):
            errors.append(result)
            continue
        if result.rrset is None:
            continue
        rdtype = dns.rdatatype.to_text(result.rrset.rdtype)
        answers.extend(Answer(rdtype, rdata.to_text(), result.rrset.ttl) for rdata in result.rrset)
    if answers:
        return Resolution(host, tuple(answers), shown, elapsed)
    raise ResolveError(_reason_of(errors), shown, elapsed)


def _reason_of(errors: list[BaseException]) -> Reason:
    for error in errors:
        if isinstance(error, dns.resolver.NXDOMAIN):
            return Reason.DNS_NXDOMAIN
    for error in errors:
        if isinstance(error, dns.exception.Timeout):
            return Reason.DNS_TIMEOUT
    for error in errors:
        if isinstance(error, dns.resolver.NoNameservers):
            return Reason.DNS_SERVFAIL
    for error in errors:
        if not isinstance(error, dns.exception.DNSException):
            raise error
    return Reason.DNS_NO_ANSWER
