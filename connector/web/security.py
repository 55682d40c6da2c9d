"""The console's locks: the admin's session, CSRF tokens, and the headers every page carries.

A session is a signed cookie, not a server-side record, so replicas sharing one database accept
each other's sessions and a restart logs nobody out. It is ``v1.<issued ms>.<nonce>.<mac>``, the
MAC keyed by a secret derived from the management key: changing the key ends every session.
Sessions last ``SESSION_MS``; logging out forgets the cookie and remembers the nonce as revoked
(in this process).

CSRF: every form carries ``csrf``, every fetch ``X-CSRF-Token``, both HMAC(session) so they
cannot be made up by another site; the login form, before any session, uses a double-submit
cookie. The cookies are HttpOnly and SameSite=Strict as well, which alone stops most of it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

SESSION_COOKIE = "pontis_session"
LOGIN_COOKIE = "pontis_login"
SESSION_MS = 8 * 3600 * 1000
COOKIE_PATH = "/ui"

# scripts and styles from /ui/static only: no inline script or style, no other origin; frames only of
# our own pages (the provenance picture, which sets its own, narrower CSP), and nobody frames us
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def cookie(request: Any, name: str) -> str:
    """A cookie's name for this connector: cookies ignore ports, so two connectors on one host
    (the demo runs three) would otherwise log each other's admins out."""
    port = request.url.port
    return f"{name}-{port}" if port else name


def _secret(api_key: str) -> bytes:
    return hashlib.sha256(b"pontis-ui-session\x00" + api_key.encode()).digest()


def _mac(api_key: str, message: str) -> str:
    return hmac.new(_secret(api_key), message.encode(), hashlib.sha256).hexdigest()


def key_matches(given: str | None, api_key: str) -> bool:
    return given is not None and given != "" and hmac.compare_digest(given.encode(), api_key.encode())


@dataclass(frozen=True)
class Session:
    token: str
    nonce: str
    issued_ms: int


class Sessions:
    """Issues and checks session cookies for one connector (its management key)."""

    def __init__(self, api_key: str, lifetime_ms: int = SESSION_MS) -> None:
        self.api_key = api_key
        self.lifetime_ms = lifetime_ms
        self.revoked: set[str] = set()

    def issue(self, now: int) -> str:
        body = f"v1.{now}.{secrets.token_urlsafe(16)}"
        return f"{body}.{_mac(self.api_key, body)}"

    def check(self, token: str | None, now: int) -> Session | None:
        """The session a cookie names, or None when it is missing, forged, expired or logged out."""
        if not token or token.count(".") != 3:
            return None
        body, mac = token.rsplit(".", 1)
        if not hmac.compare_digest(mac, _mac(self.api_key, body)):
            return None
        _, issued, nonce = body.split(".")
        if not issued.isdigit() or not 0 <= now - int(issued) <= self.lifetime_ms or nonce in self.revoked:
            return None
        return Session(token, nonce, int(issued))

    def revoke(self, session: Session) -> None:
        if len(self.revoked) > 10_000:
            self.revoked.clear()
        self.revoked.add(session.nonce)

    def csrf(self, session: Session) -> str:
        return _mac(self.api_key, "csrf:" + session.token)

    def csrf_ok(self, session: Session, given: str | None) -> bool:
        return given is not None and given != "" and hmac.compare_digest(given.encode(), self.csrf(session).encode())
