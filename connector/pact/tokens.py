"""OAuth2 client credentials for PACT clients: who a client is, and the access tokens it gets.

A token is a short JWT (HS256) naming the client and the BPN it acts for. The key is derived from
the connector's API key, so every replica sharing the config accepts the tokens of the others and
a changed API key invalidates them all. A client removed from the config loses access at once:
every request looks the client up again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

import jwt

from connector.config import PactClient, Settings

SCOPES = ("footprint:list", "footprint:read")


class ClientRefused(Exception):
    """Client authentication failed (RFC 6749 ``invalid_client``)."""


class TokenRefused(Exception):
    """An access token that is not ours, malformed, or for a client that is gone."""


class TokenExpired(TokenRefused):
    pass


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int


def _key(settings: Settings) -> bytes:
    return hashlib.sha256(b"pontis-pact-token\0" + settings.api_key.encode()).digest()


def client_by_id(settings: Settings, client_id: str) -> PactClient | None:
    for client in settings.pact.clients if settings.pact else ():
        if hmac.compare_digest(client.client_id, client_id):
            return client
    return None


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def authenticate_client(settings: Settings, client_id: str, secret: str) -> PactClient:
    client = client_by_id(settings, client_id)
    # compare the secret even for an unknown id, so timing does not tell which ids exist
    expected = client.client_secret if client else "x" * 32
    if not hmac.compare_digest(expected.encode(), secret.encode()) or client is None:
        raise ClientRefused("client authentication failed")
    return client


def issue(settings: Settings, client: PactClient, now_s: int) -> Token:
    ttl = settings.pact.token_ttl_seconds if settings.pact else 3600
    claims = {"iss": settings.public_url, "sub": client.client_id, "bpn": client.bpn, "scope": " ".join(SCOPES),
              "iat": now_s, "exp": now_s + ttl}
    return Token(jwt.encode(claims, _key(settings), algorithm="HS256"), ttl)


def verify(settings: Settings, authorization: str | None, now_s: int) -> PactClient:
    """The client behind ``Authorization: Bearer <token>``; TokenRefused/TokenExpired otherwise."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise TokenRefused("no bearer token; get one from /auth/token")
    token = authorization[7:].strip()
    try:
        claims = jwt.decode(token, _key(settings), algorithms=["HS256"], issuer=settings.public_url,
                            options={"verify_exp": False, "require": ["sub", "exp", "bpn"]})
    except jwt.PyJWTError:
        raise TokenRefused("invalid token") from None
    if int(claims["exp"]) <= now_s:
        raise TokenExpired("the access token has expired; get a new one from /auth/token")
    client = client_by_id(settings, str(claims["sub"]))
    if client is None or client.bpn != claims["bpn"]:
        raise TokenRefused("the token's client is no longer configured here")
    return client
