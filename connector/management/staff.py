"""Who is calling the management API, and what their role lets them do.

Callers: the config's ``api_key`` (an admin named ``api_key``); ``[[management.keys]]``, each
a name, a role and the SHA-256 of a random key (a key of 256 random bits needs no slow hash); and,
with ``[management.oidc]``, an identity provider's access token (``Authorization: Bearer``),
verified against its JWKS, its role claim mapped to a role here.

Roles: ``admin`` may do everything; ``operator`` runs the business (assets, policies, negotiations,
transfers) but may not change who may connect (peers); ``read-only`` reads and queries only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from connector.config import MANAGEMENT_PATH, OidcSettings, Settings

log = logging.getLogger("pontis.management")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
ADMIN_ONLY = (MANAGEMENT_PATH + "/v3/peers",)


@dataclass(frozen=True)
class Staff:
    name: str
    role: str  # admin | operator | read-only


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def is_query(method: str, path: str) -> bool:
    """EDC's queries are POSTs to ``.../request``: reads, for the roles and the audit log."""
    return method == "POST" and path.rstrip("/").endswith("/request")


def refusal(staff: Staff, method: str, path: str) -> str | None:
    """Why ``staff`` may not make this call, or None."""
    if method not in WRITES or is_query(method, path) or staff.role == "admin":
        return None
    if staff.role == "read-only":
        return f"{staff.name} has the role read-only, which may read and query but not {method} {path}"
    if path.startswith(ADMIN_ONLY):
        return f"{staff.name} has the role operator; changing peers needs the role admin"
    return None


class OidcVerifier:
    """Verifies an identity provider's access tokens; its JWKS fetched (through the SSRF guard) and
    cached, fetched again for an unknown ``kid`` at most every 30 seconds."""

    def __init__(self, config: OidcSettings, fetch: Callable[[str], bytes], clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.fetch = fetch
        self.clock = clock
        self._keys: dict[str | None, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _jwks(self, kid: str | None) -> dict[str | None, Any]:
        with self._lock:
            now = self.clock()
            stale = now - self._fetched_at > self.config.jwks_cache_seconds
            unknown = kid not in self._keys and now - self._fetched_at > 30
            if stale or unknown:
                document = json.loads(self.fetch(self.config.jwks_url))
                keys = jwt.PyJWKSet.from_dict(document).keys
                self._keys = {key.key_id: key for key in keys}
                self._fetched_at = now
            return self._keys

    def verify(self, token: str) -> Staff | None:
        try:
            header = jwt.get_unverified_header(token)
            keys = self._jwks(header.get("kid") or None)
            kid = header.get("kid")
            key = keys.get(kid) if kid else next(iter(keys.values()), None)
            if key is None:
                log.info("OIDC token refused: no key %s at %s", header.get("kid"), self.config.jwks_url)
                return None
            claims = jwt.decode(token, key=key.key, algorithms=self.config.algorithms, audience=self.config.audience,
                                issuer=self.config.issuer, leeway=self.config.leeway_seconds,
                                options={"require": ["exp", "iss", "aud"]})
        except (jwt.PyJWTError, ValueError, OSError) as exc:
            log.info("OIDC token refused: %s", exc)
            return None
        return self._staff(claims)

    def _staff(self, claims: Mapping[str, Any]) -> Staff | None:
        value: Any = claims
        for part in self.config.role_claim.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        granted = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        roles = {self.config.role_map[g] for g in granted if isinstance(g, str) and g in self.config.role_map}
        role = next((r for r in ("admin", "operator", "read-only") if r in roles), None)
        if role is None:
            log.info("OIDC token of %s refused: no role in %s maps to one here", claims.get("sub"),
                     self.config.role_claim)
            return None
        name = claims.get(self.config.name_claim) or claims.get("sub")
        return Staff(f"oidc:{name}", role)


def oidc_verifier(settings: Settings) -> OidcVerifier | None:
    config = settings.management.oidc
    if config is None:
        return None
    from connector.services.ssrf import OutgoingGuard, origin_of
    from connector.services.transport import DocumentFetch

    # the admin configured the identity provider: it may be on the company's own network
    origin = origin_of(config.jwks_url)
    return OidcVerifier(config, DocumentFetch(OutgoingGuard(known=frozenset({origin} if origin else set()))))


def identify(settings: Settings, headers: Mapping[str, str], oidc: OidcVerifier | None = None) -> Staff | None:
    """The staff member behind ``X-Api-Key`` (or an OIDC bearer token), or None."""
    given = headers.get("x-api-key")
    if given:
        if hmac.compare_digest(given.encode(), settings.api_key.encode()):
            return Staff("api_key", "admin")
        digest = hash_key(given)
        for key in settings.management.keys:
            if hmac.compare_digest(digest, key.hash):
                return Staff(key.name, key.role)
        return None
    bearer = headers.get("authorization", "")
    if oidc is not None and bearer[:7].lower() == "bearer ":
        return oidc.verify(bearer[7:].strip())
    return None
