"""A BPN-DID directory compatible with Catena-X's BPN-DID Resolution Service (BDRS).

**Serving** (the issuer, :mod:`connector.identity.issuer_service`): ``GET <base>/bpn-directory``
(base ``.../api/directory``, as BDRS) answers the whole map ``{"BPNL...": "did:web:..."}`` as
gzipped JSON (``Content-Encoding: gzip``): there is no 1:1 lookup, clients cache the map. The
caller authenticates as BDRS asks: ``Authorization: Bearer <vp+jwt>``, a presentation signed by
a key in the caller's ``authentication`` whose ``kid`` names the caller (= ``iss`` = ``holder``),
holding a MembershipCredential from this issuer about the caller, valid and not revoked.

**Using** (:class:`BpnDirectory`, ``[identity] bpn_directory_url``): the map is fetched with our
membership presentation, cached for ``bpn_directory_cache_seconds`` and refreshed after; a
failed refresh keeps the last good copy (logged). :meth:`BpnDirectory.did_for` answers from the
cache.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime

import httpx

from .credentials import (
    MEMBERSHIP,
    CredentialError,
    did_of,
    jws_unverified,
    jws_verify,
    verify_credential,
)
from .dcp_issuance import bearer_token
from .did import DidResolver, IdentityError
from .issuer import BPN_PATTERN, Issuer, _read_state

log = logging.getLogger("pontis.identity")
DIRECTORY_PATH = "/api/directory/bpn-directory"
MAX_DIRECTORY_BYTES = 16 << 20


class DirectoryRefused(IdentityError):
    code = "refused"

    def __init__(self, reason: str, *, status: int = 401, code: str = "refused") -> None:
        super().__init__(reason, code=code)
        self.status = status


def directory_body(mapping: dict[str, str]) -> bytes:
    return gzip.compress(json.dumps(mapping, separators=(",", ":"), sort_keys=True).encode("utf-8"), mtime=0)


def _revoked_ids(issuer: Issuer) -> set[str]:
    """The issuer checks revocation in its own state instead of fetching its own list."""
    state = _read_state(issuer.directory)
    revoked = set(state["revoked"])
    return {e["id"] for e in state.get("issued", []) if e["statusListIndex"] in revoked}


def verify_membership_presentation(authorization: str | None, resolver: DidResolver, issuer: Issuer, *,
                                   now: datetime) -> str:
    """The caller's DID, when its ``vp+jwt`` holds a valid MembershipCredential of ``issuer``."""
    token = bearer_token(authorization)
    if not token:
        raise DirectoryRefused("no Authorization header: present a vp+jwt with your MembershipCredential",
                               code="missing_token")
    try:
        header, claims = jws_unverified(token, "presentation")
        if header.get("typ") not in ("vp+jwt", "JWT", "vp+ld+json+jwt"):
            raise DirectoryRefused(f"the bearer token has typ {header.get('typ')!r}, not vp+jwt", code="malformed")
        holder = claims.get("holder", claims.get("iss"))
        if not isinstance(holder, str) or claims.get("iss", holder) != holder or did_of(header.get("kid"), "vp+jwt") != holder:
            raise DirectoryRefused("the presentation's kid, iss and holder must name the same DID", code="malformed")
        jws_verify(token, resolver.public_key(header["kid"], "authentication"), "vp+jwt")
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp < now.timestamp():
            raise DirectoryRefused("the presentation has expired", code="expired")
        items = claims.get("verifiableCredential") or claims.get("vp", {}).get("verifiableCredential") or []
        revoked = _revoked_ids(issuer)
        for item in items if isinstance(items, list) else [items]:
            try:
                credential = verify_credential(item, resolver, trusted_issuers=[issuer.did], status_lists=None,
                                               holder=holder, now=now)
            except CredentialError as exc:
                log.info("BPN directory: a credential of %s does not count: %s", holder, exc.reason)
                continue
            if MEMBERSHIP in credential.types:
                if credential.id in revoked:
                    raise DirectoryRefused(f"the MembershipCredential {credential.id} of {holder} is revoked",
                                           status=403, code="revoked")
                return holder
    except DirectoryRefused:
        raise
    except IdentityError as exc:
        raise DirectoryRefused(f"the presentation does not verify: {exc.reason}", code=exc.code) from None
    raise DirectoryRefused(f"the presentation of {holder} holds no valid MembershipCredential from {issuer.did}",
                           status=403, code="no_membership")


class BpnDirectory:
    """A BDRS-compatible directory, fetched with our membership presentation and cached."""

    def __init__(self, url: str, http: httpx.Client, presentation: Callable[[], str], *,
                 ttl_seconds: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url.rstrip("/")
        self.http = http
        self.presentation = presentation
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._map: dict[str, str] | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def refresh(self) -> dict[str, str]:
        """Fetch the map now; IdentityError when it cannot be had."""
        url = self.url if self.url.endswith("/bpn-directory") else self.url + "/bpn-directory"
        try:
            response = self.http.get(url, headers={"Authorization": f"Bearer {self.presentation()}",
                                                   "Accept-Encoding": "gzip"})
        except httpx.HTTPError as exc:
            raise IdentityError(f"GET {url} failed: {exc}", code="unreachable") from None
        if response.status_code != 200:
            raise IdentityError(f"GET {url} answered {response.status_code}: {response.text[:300]}",
                                code="refused")
        body = response.content  # httpx undoes Content-Encoding: gzip; a raw gzip body is undone here
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)[:MAX_DIRECTORY_BYTES + 1]
        if len(body) > MAX_DIRECTORY_BYTES:
            raise IdentityError(f"GET {url}: the directory is larger than {MAX_DIRECTORY_BYTES} bytes", code="refused")
        try:
            mapping = json.loads(body)
        except ValueError:
            raise IdentityError(f"GET {url} did not answer JSON", code="malformed") from None
        if isinstance(mapping, list):  # the array form some BDRS documents show: [{bpn, did}]
            mapping = {e.get("bpn"): e.get("did") for e in mapping if isinstance(e, dict)}
        if not isinstance(mapping, dict):
            raise IdentityError(f"GET {url} did not answer a BPN → DID map", code="malformed")
        clean = {b: d for b, d in mapping.items() if isinstance(b, str) and isinstance(d, str) and d.startswith("did:")}
        with self._lock:
            self._map, self._expires = clean, self.clock() + self.ttl_seconds
        log.info("BPN directory %s: %d entries", url, len(clean))
        return clean

    def did_for(self, bpn: str) -> str | None:
        """The DID the directory names for ``bpn`` (None if it names none)."""
        if not re.match(BPN_PATTERN.replace("BPNL", "BPN[LSA]"), bpn):
            raise IdentityError(f"{bpn!r} is not a BPN (BPNL/BPNS/BPNA + 12 digits or capitals)", code="malformed")
        with self._lock:
            mapping, fresh = self._map, self._expires > self.clock()
        if mapping is None or not fresh:
            try:
                mapping = self.refresh()
            except IdentityError as exc:
                if mapping is None:
                    raise
                log.warning("BPN directory refresh failed, using the last copy: %s", exc.reason)
        return mapping.get(bpn)
