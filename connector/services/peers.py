"""The peers a connector knows: the config's ``[[peers]]`` (read-only) merged with peers stored in
the database (``connector peer add|list|remove``, ``/management/v3/peers``).

A stored peer takes effect at once: the directory keeps a snapshot for ``ttl_seconds`` (2 s),
drops it on every write made through it, and reloads it (at most every ``miss_reload_seconds``)
when a token names nobody, so a peer added by another process is let in on its first call.
A removed peer is refused from the next call on this process, within the TTL on others.

In static-token mode the peers' tokens authenticate DSP callers (``PeerTokenAuthenticator``);
in dcp mode the DID does, and a peer entry gives the DSP URL (``connector fetch``) and claims
for ``explain``. A peer may be added from its DID alone: its did:web document's DSP service
entry gives the DSP URL (``dsp_url_from_did``).
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from connector.config import DSP_PATH, Peer
from connector.identity.auth import Participant, StaticTokenAuthenticator, presented_token
from connector.services.errors import Conflict, InvalidRequest, NotFound
from connector.store import Database
from connector.store.models import StoredPeer

BPN = re.compile(r"^BPNL[0-9A-Z]{12}$")


@dataclass(frozen=True)
class PeerEntry:
    """One known peer, wherever it is written. ``source`` is "config" (read-only) or "stored"."""

    id: str
    token: str | None = None
    dsp_url: str | None = None
    bpn: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    source: str = "stored"

    def participant(self) -> Participant:
        return Participant(self.id, {"bpn": self.bpn, **self.claims})

    def public(self) -> dict[str, Any]:
        """What an admin sees: everything but the token (a secret), whose presence is shown."""
        return {"id": self.id, "dspUrl": self.dsp_url, "bpn": self.bpn, "claims": dict(self.claims),
                "hasToken": self.token is not None, "source": self.source, "readOnly": self.source == "config"}


@dataclass(frozen=True)
class PeerInput:
    """A peer to add. Without ``dsp_url``, the peer's did:web document is asked for it."""

    id: str
    token: str | None = None
    dsp_url: str | None = None
    bpn: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)


def check_peer_input(peer: PeerInput) -> None:
    """Refuse, naming the field, what cannot be a peer."""
    if not isinstance(peer.id, str) or not peer.id.strip() or peer.id != peer.id.strip():
        raise InvalidRequest("Peer.id", "id: expected the peer's participant id (a DID such as "
                             "did:web:partner.example.com, or a BPN), without spaces", path="id")
    if not (peer.id.startswith("did:") or BPN.match(peer.id)):
        raise InvalidRequest("Peer.id", f"id: {peer.id!r} is neither a DID (did:web:...) nor a BPN (BPNL + 12 "
                             "letters or digits)", path="id")
    if peer.token is not None and (not isinstance(peer.token, str) or len(peer.token) < 8):
        raise InvalidRequest("Peer.token", "token: expected the static token the peer presents to you, "
                             "at least 8 characters", path="token")
    if peer.dsp_url is not None and not re.match(r"^https?://[^/\s]+", peer.dsp_url or ""):
        raise InvalidRequest("Peer.dspUrl", f"dspUrl: expected the peer's DSP base, such as "
                             f"https://partner.example.com{DSP_PATH}, not {peer.dsp_url!r}", path="dspUrl")
    if peer.bpn is not None and not BPN.match(peer.bpn):
        raise InvalidRequest("Peer.bpn", f"bpn: {peer.bpn!r} is not a BPN; expected BPNL and 12 letters or "
                             "digits, such as BPNL000000000001", path="bpn")
    if not isinstance(peer.claims, dict):
        raise InvalidRequest("Peer.claims", "claims: expected an object such as {\"membership\": true}",
                             path="claims")


def dsp_url_from_did(did: str, resolver: Any) -> str:
    """The DSP base a peer's DID document names: its ``CatalogService`` (``<base>/catalog``), or its
    ``DataService`` (the DSP base, or its ``/.well-known/dspace-version``, which is then read)."""
    from connector.config import DSP_VERSION
    from connector.identity.did import IdentityError

    if not did.startswith("did:web:"):
        raise InvalidRequest("Peer.dspUrl", f"dspUrl: is required for {did!r}; only a did:web names its DSP "
                             "endpoint in its DID document", path="dspUrl")
    try:
        document = resolver.resolve(did)
    except IdentityError as exc:
        raise InvalidRequest("Peer.dspUrl", f"dspUrl: not given, and the DID document of {did} cannot be read "
                             f"({exc}); give dspUrl, or check that the peer is up", path="dspUrl") from None
    services = document.get("service") or []
    services = services if isinstance(services, list) else [services]
    by_type: dict[str, str] = {}
    for service in services:
        if isinstance(service, dict) and isinstance(service.get("serviceEndpoint"), str):
            types = service.get("type")
            for kind in types if isinstance(types, list) else [types]:
                by_type.setdefault(str(kind), service["serviceEndpoint"])
    if "CatalogService" in by_type and by_type["CatalogService"].rstrip("/").endswith("/catalog"):
        return by_type["CatalogService"].rstrip("/")[: -len("/catalog")]
    endpoint = by_type.get("DataService")
    if endpoint is None:
        raise InvalidRequest("Peer.dspUrl", f"dspUrl: not given, and the DID document of {did} has no "
                             "CatalogService or DataService entry; give dspUrl", path="dspUrl")
    if not endpoint.rstrip("/").endswith("/.well-known/dspace-version"):
        return endpoint.rstrip("/")
    try:
        versions = json.loads(resolver.fetch(endpoint))
        entry = next(v for v in versions["protocolVersions"] if v.get("version") == DSP_VERSION)
        base = endpoint.rstrip("/")[: -len("/.well-known/dspace-version")]
        return base + "/" + str(entry["path"]).strip("/")
    except (IdentityError, ValueError, KeyError, TypeError, StopIteration, AttributeError):
        raise InvalidRequest("Peer.dspUrl", f"dspUrl: not given, and {endpoint} names no DSP {DSP_VERSION} "
                             "endpoint; give dspUrl", path="dspUrl") from None


class PeerDirectory:
    """Config peers and stored peers, one view. Config peers win on an id both name (and cannot be
    changed here); the peers' tokens must all differ."""

    def __init__(self, db: Database, config_peers: list[Peer], *, own_token: str | None = None,
                 clock: Callable[[], int] = lambda: int(time.time() * 1000), ttl_seconds: float = 2.0,
                 miss_reload_seconds: float = 0.25, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.config = [PeerEntry(p.id, p.token, p.dsp_url, p.bpn, dict(p.claims), "config") for p in config_peers]
        self.own_token = own_token
        self.clock = clock
        self.ttl_seconds = ttl_seconds
        self.miss_reload_seconds = miss_reload_seconds
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self._entries: list[PeerEntry] = list(self.config)

    # --- reading -----------------------------------------------------------------------------

    def _load(self) -> list[PeerEntry]:
        with self.db.read() as session:
            rows = list(session.exec(select(StoredPeer).order_by(StoredPeer.id)))
        configured = {p.id for p in self.config}
        stored = [PeerEntry(r.id, r.token, r.dsp_url, r.bpn, dict(r.claims or {}), "stored")
                  for r in rows if r.id not in configured]
        return [*self.config, *stored]

    def _snapshot(self, *, refresh_after: float | None = None) -> list[PeerEntry]:
        now = self.monotonic()
        age = now - self._loaded_at
        if age > (self.ttl_seconds if refresh_after is None else refresh_after):
            entries = self._load()
            with self._lock:
                self._entries, self._loaded_at = entries, now
        return self._entries

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")

    def all(self) -> list[PeerEntry]:
        return list(self._snapshot())

    def by_id(self, participant_id: str) -> PeerEntry | None:
        for refresh in (None, self.miss_reload_seconds):
            found = next((p for p in self._snapshot(refresh_after=refresh) if p.id == participant_id), None)
            if found is not None:
                return found
        return None

    def by_dsp_url(self, dsp_url: str) -> PeerEntry | None:
        wanted = dsp_url.rstrip("/")
        return next((p for p in self._snapshot() if p.dsp_url and p.dsp_url.rstrip("/") == wanted), None)

    def by_token(self, token: str) -> PeerEntry | None:
        for refresh in (None, self.miss_reload_seconds):
            found = _holder_of(self._snapshot(refresh_after=refresh), token)
            if found is not None:
                return found
        return None

    def by_token_in_memory(self, token: str) -> PeerEntry | None:
        """What ``by_token`` answers when it needs no read of the store (the snapshot is fresh and
        names the token); None when it would read: the caller then asks ``by_token`` (in a thread)."""
        if self.monotonic() - self._loaded_at > self.ttl_seconds:
            return None
        return _holder_of(self._entries, token)

    # --- writing -----------------------------------------------------------------------------

    def add(self, peer: PeerInput, *, resolver: Any = None) -> PeerEntry:
        """Store a peer; without ``dsp_url``, ask its did:web document (through ``resolver``)."""
        check_peer_input(peer)
        if any(p.id == peer.id for p in self.config):
            raise Conflict("Peer.configured", f"peer {peer.id!r} is in the config file's [[peers]]; change it "
                           "there (config peers are read-only here)", path="id")
        dsp_url = peer.dsp_url
        if dsp_url is None and resolver is not None:
            dsp_url = dsp_url_from_did(peer.id, resolver)
        if peer.token is not None:
            if self.own_token is not None and hmac.compare_digest(peer.token.encode(), self.own_token.encode()):
                raise Conflict("Peer.token", "token: this is the token this connector presents to its peers; "
                               "each peer needs its own", path="token")
            clash = next((p.id for p in self._load() if p.token == peer.token and p.id != peer.id), None)
            if clash is not None:
                raise Conflict("Peer.token", f"token: peer {clash!r} already presents this token; each peer "
                               "needs its own", path="token")
        with self.db.write() as session:
            if session.get(StoredPeer, peer.id) is not None:
                raise Conflict("Peer.duplicate", f"peer {peer.id!r} exists; remove it first to change it",
                               path="id")
            session.add(StoredPeer(id=peer.id, token=peer.token, dsp_url=dsp_url, bpn=peer.bpn,
                                   claims=dict(peer.claims), created_at=self.clock()))
        self.invalidate()
        return PeerEntry(peer.id, peer.token, dsp_url, peer.bpn, dict(peer.claims), "stored")

    def remove(self, participant_id: str) -> None:
        if any(p.id == participant_id for p in self.config):
            raise Conflict("Peer.configured", f"peer {participant_id!r} is in the config file's [[peers]]; "
                           "remove it there and restart (config peers are read-only here)", path="id")
        with self.db.write() as session:
            row = session.get(StoredPeer, participant_id)
            if row is None:
                raise NotFound("Peer.unknown", f"no peer {participant_id!r} was added; "
                               "`connector peer list` shows the known ones", path="id")
            session.delete(row)
        self.invalidate()


def _holder_of(entries: list[PeerEntry], token: str) -> PeerEntry | None:
    found = None
    for peer in entries:
        # constant-time compare, and no early exit: a token is a secret
        if peer.token is not None and hmac.compare_digest(peer.token.encode(), token.encode()):
            found = found or peer
    return found


class PeerTokenAuthenticator(StaticTokenAuthenticator):
    """Static-token mode over the peer directory: a caller is the peer whose token it presents."""

    def __init__(self, directory: PeerDirectory, own_token: str | None) -> None:
        super().__init__({}, own_token)
        self.directory = directory

    def participant_for(self, token: str) -> Participant | None:
        peer = self.directory.by_token(token)
        return peer.participant() if peer is not None else None

    def known_in_memory(self, authorization: str | None) -> Participant | None:
        """The caller, when the peer directory's fresh snapshot names its token: no store read, so
        the DSP edge asks on its event loop. None: ``authenticate`` decides (it may read the store)."""
        token = presented_token(authorization)
        peer = self.directory.by_token_in_memory(token) if token else None
        return peer.participant() if peer is not None else None


def peer_directory(settings: Any, db: Database) -> PeerDirectory:
    return PeerDirectory(db, settings.peers, own_token=settings.token)


def resolver_for(settings: Any, did: str) -> Any:
    """The DID resolver for adding the peer ``did`` from its DID alone, through the outgoing guard.

    The admin named this peer, so its did:web server may be on loopback or a private network, as a
    configured peer's may; every other address keeps the guard's rule."""
    from connector.identity.did import DidResolver
    from connector.services.ssrf import OutgoingGuard
    from connector.services.transport import DocumentFetch

    guard = OutgoingGuard.from_settings(settings, runtime_peers=lambda: [(did, None)])
    return DidResolver(allow_insecure_localhost=settings.identity.allow_insecure_did_web,
                       ttl_seconds=settings.identity.did_cache_seconds, fetch=DocumentFetch(guard))
