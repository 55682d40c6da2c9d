"""The Secure Token Service (DCP v1.0): self-issued ID tokens, and access tokens to our Credential Service.

**Built in** (:class:`BuiltinSts`, the default): a token for ``audience`` (a verifier's DID) is a
compact JWS by our key (``kid`` our JsonWebKey method, in ``capabilityInvocation``)::

    {"iss": <our DID>, "sub": <our DID>, "aud": <audience>, "jti", "iat", "nbf", "exp",
     "token": <access token>}

With ``scopes`` (the DSP caller's case) ``token`` is a new **access token**: a JWS by the same key,
``typ: at+jwt``, claims ``{"iss": <our DID>, "sub": <audience>, "aud": <our DID>, "scope":
"<space-separated scopes>", "jti", "iat", "exp"}``. Only the verifier it names (``sub``) can use it,
only at our Credential Service (``aud``), only for those scopes, once. With ``token`` (the
verifier's case, querying the caller's Credential Service) that string is carried as it is.

**External** (:class:`RemoteSts`, ``[identity] sts_url`` and ``sts_client_id``, secret in
``$PONTIS_STS_CLIENT_SECRET``): DCP's non-normative STS API, OAuth2 client credentials: a form
POST of ``grant_type=client_credentials``, ``client_id``, ``client_secret``, ``audience`` and
``bearer_access_scope`` (space separated) or ``token``; the answer's ``access_token`` is the
self-issued token.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .credentials import jws_encode
from .did import IdentityError
from .wallet import LocalIdentity

ACCESS_TOKEN_TYP = "at+jwt"
STS_SECRET_ENV = "PONTIS_STS_CLIENT_SECRET"

FormPost = Callable[[str, dict[str, str]], tuple[int, Any]]


class SecureTokenService(Protocol):
    def self_issued_token(self, audience: str, *, scopes: Sequence[str] = (), token: str | None = None) -> str:
        """A self-issued ID token for ``audience``: with ``scopes``, carrying a new access token for
        them; with ``token``, carrying that one."""


class BuiltinSts:
    """Signs with our own key (see the module docstring)."""

    def __init__(self, identity: LocalIdentity, *, ttl_seconds: int = 120,
                 clock: Callable[[], float] = time.time) -> None:
        self.identity = identity
        self.ttl = ttl_seconds
        self.clock = clock

    def access_token(self, verifier: str, scopes: Sequence[str], now: int) -> str:
        claims = {"iss": self.identity.did, "sub": verifier, "aud": self.identity.did, "scope": " ".join(scopes),
                  "jti": str(uuid.uuid4()), "iat": now, "nbf": now, "exp": now + self.ttl}
        return jws_encode(claims, self.identity.key, typ=ACCESS_TOKEN_TYP, kid=self.identity.kid)

    def self_issued_token(self, audience: str, *, scopes: Sequence[str] = (), token: str | None = None) -> str:
        now = int(self.clock())
        claims: dict[str, Any] = {"iss": self.identity.did, "sub": self.identity.did, "aud": audience,
                                  "jti": str(uuid.uuid4()), "iat": now, "nbf": now, "exp": now + self.ttl}
        if token is not None:
            claims["token"] = token
        elif scopes:
            claims["token"] = self.access_token(audience, scopes, now)
        return jws_encode(claims, self.identity.key, typ="JWT", kid=self.identity.kid)


class RemoteSts:
    """An external STS (a wallet's) by URL, with OAuth2 client credentials."""

    def __init__(self, url: str, client_id: str, client_secret: str, post: FormPost) -> None:
        self.url = url
        self.client_id = client_id
        self.client_secret = client_secret
        self.post = post

    def self_issued_token(self, audience: str, *, scopes: Sequence[str] = (), token: str | None = None) -> str:
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret, "audience": audience}
        if token is not None:
            form["token"] = token
        elif scopes:
            form["bearer_access_scope"] = " ".join(scopes)
        status, body = self.post(self.url, form)
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            detail = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            raise IdentityError(f"the STS at {self.url} answered HTTP {status}" + (f": {detail}" if detail else "")
                                + " (expected 200 with an access_token)", code="sts_failed")
        return str(body["access_token"])


def sts_from_settings(settings: Any, identity: LocalIdentity, post: FormPost) -> SecureTokenService:
    """The external STS when ``[identity] sts_url`` is set, else the built-in one."""
    config = settings.identity
    if not config.sts_url:
        return BuiltinSts(identity, ttl_seconds=config.token_ttl_seconds)
    secret = os.environ.get(STS_SECRET_ENV)
    if not config.sts_client_id or not secret:
        raise IdentityError(f"[identity] sts_url needs sts_client_id and the secret in ${STS_SECRET_ENV}",
                            code="config")
    return RemoteSts(config.sts_url, config.sts_client_id, secret, post)
