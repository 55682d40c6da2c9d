"""Server-side request forgery guard: the one rule for every outgoing call.

A URL the connector calls (a peer's counterPartyAddress or callbackAddress, a did:web document,
a status list, an asset's backend, an OAuth2 token URL, a push destination) is written by
someone other than the admin who runs the connector, so it must not steer the connector at its
own loopback, the company's private network or a cloud metadata service. The rule:

- only ``http`` and ``https``;
- every address the host resolves to must be globally routable, unless the admin allowlisted
  the host name or a network containing the address (``[dataplane] allowlist``), or the URL is
  on a server the admin configured (``OutgoingGuard.known``: a ``[[peers]]`` entry's ``dsp_url``
  or did:web, a trusted issuer's did:web);
- a peer's callbackAddress must be on that peer's own server (``OutgoingGuard.check_callback``).

``OutgoingGuard`` is the rule; ``connector.services.transport`` builds every client that calls
out, and each checks its URLs with it.

The check runs twice: ``check_backend_url`` before a request, for a clear refusal, and
``GuardedResolver`` when a connection is opened, on the addresses actually dialled, so a name
that re-resolves between the two (DNS rebinding) gets nowhere either.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import anyio
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")


class SsrfRefused(Exception):
    """A URL the connector will not call, with the reason."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class Unresolvable(SsrfRefused):
    """The host does not resolve: nothing can be dialled, so the call itself will fail."""


@dataclass(frozen=True)
class Allowlist:
    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str] | Allowlist | None) -> Allowlist:
        if isinstance(entries, Allowlist):
            return entries
        hosts, networks = set(), []
        for entry in entries or ():
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_ip(self, ip: IP) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)


def why_forbidden(ip: IP) -> str | None:
    """Why an address is off limits without an allowlist entry, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    for flag, name in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                       ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                       ("is_private", "private"), ("is_reserved", "reserved")):
        if getattr(ip, flag):
            return name
    return None if ip.is_global else "not globally routable"


def _check_ip(url: str, host: str, ip: IP, allowlist: Allowlist) -> None:
    reason = why_forbidden(ip)
    if reason and not allowlist.allows_ip(ip):
        raise SsrfRefused(url, f"{host} is {ip}, a {reason} address; the admin has not allowlisted it "
                               f"(add it to [dataplane] allowlist, or name the server as a peer's dsp_url)")


def _split(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SsrfRefused(url, f"not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in SCHEMES:
        raise SsrfRefused(url, f"scheme {parts.scheme or '(none)'!r} is not allowed; only http and https are")
    if not parts.hostname:
        raise SsrfRefused(url, "the URL has no host")
    return parts.hostname, port or (443 if parts.scheme.lower() == "https" else 80)


def _literal(host: str) -> IP | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def check_backend_url(url: str, allowlist: Iterable[str] | Allowlist | None, *, resolve: bool = True) -> list[IP]:
    """Refuse (``SsrfRefused``) a URL the data plane must not call; return the addresses it resolved to.

    Call it where a data address is written (asset creation, a push transfer request) and before
    every call. ``resolve=False`` skips DNS (checks scheme, literal addresses and ``localhost``):
    for places that must not block, such as inside a database transaction.
    """
    allow = Allowlist.parse(allowlist)
    host, port = _split(url)
    if allow.allows_host(host):
        return []
    literal = _literal(host)
    if literal is not None:
        _check_ip(url, host, literal, allow)
        return [literal]
    if host.lower().rstrip(".") == "localhost" or host.lower().endswith(".localhost"):
        _check_ip(url, host, ipaddress.ip_address("127.0.0.1"), allow)
    if not resolve:
        return []
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unresolvable(url, f"the host {host!r} does not resolve: {exc}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for ip in addresses:
        _check_ip(url, host, ip, allow)
    return addresses


async def acheck_backend_url(url: str, allowlist: Iterable[str] | Allowlist | None) -> list[IP]:
    """``check_backend_url`` off the event loop (name resolution blocks)."""
    return await anyio.to_thread.run_sync(lambda: check_backend_url(url, allowlist))


class GuardedResolver(AbstractResolver):
    """Checks every address a name resolves to before aiohttp may dial it: the connect-time half
    of the guard. (Literal addresses never reach a resolver; they cannot change between the
    check before the request and the connection, so that check is enough for them.)"""

    def __init__(self, allowlist: Allowlist | Callable[[], Allowlist]) -> None:
        # a callable is asked at every connection: peers added at run time count at once
        self._allowlist = allowlist
        self.inner = ThreadedResolver()

    @property
    def allowlist(self) -> Allowlist:
        return self._allowlist() if callable(self._allowlist) else self._allowlist

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        allowlist = self.allowlist
        if not allowlist.allows_host(host):
            for result in results:
                try:
                    _check_ip(f"{host}:{port}", host, ipaddress.ip_address(result["host"].split("%")[0]), allowlist)
                except SsrfRefused as exc:
                    raise OSError(errno.EACCES, f"refused by the SSRF guard: {exc.reason}") from None
        return results

    async def close(self) -> None:
        await self.inner.close()


def guarded_session(allowlist: Allowlist, *, read_bufsize: int = 1 << 18) -> aiohttp.ClientSession:
    """An aiohttp session whose every connection passes the guard; no proxies from the environment
    (a proxy would dial on our behalf, out of the guard's sight), bodies passed on undecoded.

    aiohttp, not httpx: its C HTTP parser reads a backend's body ~4x faster (measured in
    bench/transfer.py), which is most of the data plane's cost per byte.
    """
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(allowlist), limit=256, ttl_dns_cache=10)
    return aiohttp.ClientSession(connector=connector, auto_decompress=False, trust_env=False,
                                 read_bufsize=read_bufsize,
                                 timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60))


# --- the rule for every outgoing call ----------------------------------------------------------

Origin = tuple[str, str, int]


def origin_of(url: str) -> Origin | None:
    """``(scheme, host, port)`` of an http(s) URL, or None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or (443 if scheme == "https" else 80)


def _did_web_origin(did: str, insecure_localhost: bool) -> Origin | None:
    from connector.identity.did import DidResolutionError, did_web_url

    if not did.startswith("did:web:"):
        return None
    try:
        return origin_of(did_web_url(did, allow_insecure_localhost=insecure_localhost))
    except DidResolutionError:
        return None


def dsp_bases_of(did_document: dict) -> list[str]:
    """The DSP URLs a DID document announces (DSP "DID discovery": CatalogService, DataService)."""
    services = did_document.get("service") if isinstance(did_document, dict) else None
    out = []
    for entry in services if isinstance(services, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("serviceEndpoint"), str) \
                and entry.get("type") in ("CatalogService", "DataService"):
            out.append(entry["serviceEndpoint"])
    return out


@dataclass(frozen=True)
class OutgoingGuard:
    """Which URLs the connector may call, and which callbackAddress a peer may give.

    ``known`` are the servers the admin configured (peers' DSP URLs and did:web hosts, trusted
    issuers): they may be on loopback or a private network, as in development and in tests.
    ``peer_urls`` maps a peer's participant id to its configured DSP URL(s); ``announced`` (set
    when the connector has a DID resolver) gives the DSP URLs a caller's DID document announces.
    ``foreign_callbacks`` (``allow_foreign_callbacks``) lets a peer name a callback on another
    server; the guard's address rule still applies to it.
    """

    allowlist: Allowlist = Allowlist()
    known: frozenset[Origin] = frozenset()
    peer_urls: tuple[tuple[str, tuple[str, ...]], ...] = ()
    foreign_callbacks: bool = False
    announced: Callable[[str], list[str]] | None = None
    # peers the admin added at run time (``connector peer add``, /v3/peers): (participant id, DSP URL)
    # pairs, asked on each check so that an added peer counts at once, as a configured one does
    runtime_peers: Callable[[], Iterable[tuple[str, str | None]]] | None = None
    insecure_did_web: bool = False

    @classmethod
    def from_settings(cls, settings: Any, announced: Callable[[str], list[str]] | None = None, *,
                      runtime_peers: Callable[[], Iterable[tuple[str, str | None]]] | None = None) -> OutgoingGuard:
        insecure = settings.identity.allow_insecure_did_web
        known: set[Origin | None] = {origin_of(p.dsp_url) for p in settings.peers if p.dsp_url}
        known |= {_did_web_origin(p.id, insecure) for p in settings.peers}
        known |= {_did_web_origin(d, insecure) for d in (*settings.identity.trusted_issuers, settings.participant_id)}
        urls = tuple((p.id, (p.dsp_url,)) for p in settings.peers if p.dsp_url)
        return cls(Allowlist.parse(settings.dataplane.allowlist), frozenset(o for o in known if o),
                   urls, bool(getattr(settings, "allow_foreign_callbacks", False)), announced,
                   runtime_peers, insecure)

    def _runtime_origins(self) -> set[Origin]:
        if self.runtime_peers is None:
            return set()
        found: set[Origin | None] = set()
        for participant_id, dsp_url in self.runtime_peers():
            if dsp_url:
                found.add(origin_of(dsp_url))
            found.add(_did_web_origin(participant_id, self.insecure_did_web))
        return {o for o in found if o}

    def is_known(self, url: str) -> bool:
        """A configured server (or a peer added at run time): it may be on loopback or a private net."""
        origin = origin_of(url)
        return origin in self.known or origin in self._runtime_origins()

    def check(self, url: str, *, resolve: bool = True) -> None:
        """Refuse (``SsrfRefused``) a URL the connector must not call. A name that does not
        resolve passes: nothing can be dialled, and the call says so as an unreachable peer."""
        host, _ = _split(url)
        if self.is_known(url):
            return
        try:
            check_backend_url(url, self.allowlist, resolve=resolve)
        except Unresolvable:
            pass

    async def acheck(self, url: str) -> None:
        """``check`` off the event loop when it must resolve a name (literal addresses and
        configured servers are decided at once)."""
        host, _ = _split(url)
        if self.is_known(url) or _literal(host) is not None or self.allowlist.allows_host(host):
            self.check(url, resolve=False)
            return
        await anyio.to_thread.run_sync(lambda: self.check(url))

    def connect_allowlist(self) -> Allowlist:
        """For the connect-time half (``GuardedResolver``): the allowlist plus configured hosts."""
        known = self.known | self._runtime_origins()
        return Allowlist(self.allowlist.hosts | {host for _, host, _ in known}, self.allowlist.networks)

    def peer_dsp_urls(self, participant_id: str) -> list[str]:
        urls = [u for pid, us in self.peer_urls if pid == participant_id for u in us]
        if self.runtime_peers is not None:
            urls += [u for pid, u in self.runtime_peers() if pid == participant_id and u and u not in urls]
        if self.announced is not None:
            urls += self.announced(participant_id)
        return urls

    def check_callback(self, participant_id: str, url: str) -> None:
        """A callbackAddress ``participant_id`` gave: on its own server, and callable at all."""
        _split(url)
        if not self.foreign_callbacks:
            own = self.peer_dsp_urls(participant_id)
            if origin_of(url) not in {origin_of(u) for u in own}:
                where = (f"its DSP URL {', '.join(sorted(set(own)))}" if own
                         else "no DSP URL: none is configured for it (dsp_url under [[peers]]) or announced in its DID document")
                raise SsrfRefused(url, f"the callbackAddress is not on the server of the calling peer "
                                       f"{participant_id}, which has {where}; the admin may allow other "
                                       f"servers with allow_foreign_callbacks = true")
        self.check(url)
