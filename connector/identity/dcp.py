"""DCP embedded-presentation mode (``[identity] auth_mode = "dcp-embedded"``), and the checks of
self-issued ID tokens that both DCP modes share (:class:`SelfIssuedTokens`).

The spec's flow (``auth_mode = "dcp"``: access token, presentation query to the caller's
Credential Service) is :mod:`connector.identity.presentation`; this module is the older,
simpler mode, for our own peers only.

**Token** (the ``Authorization: Bearer <token>`` of every DSP request in ``dcp`` mode): a
compact JWS, header ``{"alg": "EdDSA", "typ": "JWT", "kid": "<caller DID>#key-1-jwk"}``, claims::

    {"iss": "<caller DID>", "sub": "<caller DID>", "aud": "<provider DID>",
     "jti": "<uuid>", "iat": <now>, "nbf": <now>, "exp": <now + 120 s>,
     "vp": "<vp+jwt>"}

``vp`` embeds the presentation instead of DCP's ``token`` + ``POST /presentations/query``
round trip (a simplification: the verifier gets every credential the caller holds). The
``vp+jwt`` is VC-JOSE-COSE: header ``typ: vp+jwt``, ``cty: vp``, ``kid`` the caller's method;
payload the presentation ``{"@context": [credentials v2], "type": ["VerifiablePresentation"],
"holder": <caller DID>, "verifiableCredential": [EnvelopedVerifiableCredential ...]}`` plus
``iss``, ``aud``, ``nonce`` (= the token's ``jti``), ``iat`` and ``exp``, which bind it to this
one token so that a verifier cannot replay it elsewhere.

**Verification** (:meth:`DcpAuthenticator.verify`), each step failing with a reason and a
``code``: header and claim shape; ``iss == sub``; the ``kid``'s DID is ``iss`` (DCP: without a
``kid``, the document's single method); resolve ``iss`` (did:web, cached); the method is in
``capabilityInvocation``; signature (``forged``); ``aud`` is us; ``exp``/``nbf``/``iat`` within the
leeway and a lifetime of at most ``max_token_seconds`` (``expired``); ``jti`` unseen
(``replayed``); the presentation: signed by a method in the caller's ``authentication``, holder
= caller, ``aud`` us, ``nonce`` = ``jti``; every credential verifies
(:func:`connector.identity.credentials.verify_credential`: trusted issuer, signature, validity,
subject = caller, not revoked); the required credential types are present. Any bad credential
fails the whole call: a caller presenting a revoked credential is not let in on its others.

:class:`ReplayCache` is in memory and protects one process; replicas share
:class:`connector.services.replay.DatabaseReplayCache` (the container's choice).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from .auth import Participant
from .contexts import CREDENTIALS_V2
from .credentials import (
    MEMBERSHIP,
    CredentialError,
    StatusLists,
    VerifiedCredential,
    enveloped,
    participant_claims,
    verify_credential,
)
from .did import DidResolver, IdentityError, sole_method
from .jws import did_of, jws_encode, jws_unverified, jws_verify
from .vc11 import VC11, VC20, credential_profile, did_methods_for, presentation_profile
from .wallet import LocalIdentity

log = logging.getLogger("pontis.identity")


class AuthenticationError(IdentityError):
    code = "unauthenticated"


class TokenIds(Protocol):
    def first_use(self, key: str, expires_at: float, now: float) -> bool:
        """Record ``key`` until ``expires_at``; False if it is recorded and has not expired."""


class ReplayCache:
    """Seen token ids until they expire. In memory, thread-safe, bounded."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def first_use(self, key: str, expires_at: float, now: float) -> bool:
        """Record ``key``; False if it was seen and has not expired yet."""
        with self._lock:
            if len(self._seen) >= self.max_entries:
                self._seen = {k: e for k, e in self._seen.items() if e > now}
                if len(self._seen) >= self.max_entries:  # still full of live ids: refuse, never forget one
                    return False
            if self._seen.get(key, 0) > now:
                return False
            self._seen[key] = expires_at
            return True


def create_presentation(identity: LocalIdentity, audience: str, nonce: str, *, now: int, ttl: int,
                        credentials: Iterable[str] | None = None) -> str:
    """A ``vp+jwt`` of our credentials (all in the wallet by default), bound to ``audience`` and ``nonce``."""
    if credentials is None:
        identity.wallet.refresh()
    jwts = list(identity.wallet.jwts() if credentials is None else credentials)
    presentation = {"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"], "holder": identity.did,
                    "verifiableCredential": [enveloped(j) for j in jwts],
                    "iss": identity.did, "aud": audience, "nonce": nonce, "iat": now, "exp": now + ttl}
    return jws_encode(presentation, identity.key, typ="vp+jwt", cty="vp", kid=identity.kid)


def create_id_token(identity: LocalIdentity, audience: str, *, now: int | None = None, ttl: int = 120,
                    jti: str | None = None, presentation: bool = True, **extra: Any) -> str:
    """A self-issued ID token for ``audience`` (the provider's DID)."""
    now = int(time.time()) if now is None else int(now)
    jti = jti or str(uuid.uuid4())
    claims: dict[str, Any] = {"iss": identity.did, "sub": identity.did, "aud": audience, "jti": jti,
                              "iat": now, "nbf": now, "exp": now + ttl}
    if presentation:
        claims["vp"] = create_presentation(identity, audience, jti, now=now, ttl=ttl)
    claims.update(extra)
    return jws_encode(claims, identity.key, typ="JWT", kid=identity.kid)


def _fail(reason: str, code: str) -> AuthenticationError:
    return AuthenticationError(reason, code=code)


def _audiences(value: Any) -> list:
    return value if isinstance(value, list) else [value]


class SelfIssuedTokens:
    """Checks a self-issued ID token addressed to ``audience`` (our DID): shape, ``iss == sub``,
    the signer's key in ``capabilityInvocation``, signature, ``aud``, times, ``jti`` unseen."""

    def __init__(self, audience: str, resolver: DidResolver, replay: TokenIds, *, leeway_seconds: int = 10,
                 max_token_seconds: int = 600, did_methods: tuple[str, ...] | None = None) -> None:
        self.audience = audience
        # the DID methods a caller may use (Factory-X ADR 003: did:web only); None: any we resolve
        self.did_methods = did_methods
        self.resolver = resolver
        self.replay = replay
        self.leeway = leeway_seconds
        self.max_token_seconds = max_token_seconds

    def verify(self, token: str, now: float) -> tuple[str, dict]:
        """(the caller's DID, the claims), or :class:`AuthenticationError`."""
        header, claims = jws_unverified(token, "identity token")
        caller = claims.get("iss")
        if not isinstance(caller, str) or not caller.startswith("did:"):
            raise _fail(f"the token's iss {caller!r} is not a DID", "malformed")
        if claims.get("sub") != caller:
            raise _fail("the token's sub differs from its iss: not a self-issued token", "malformed")
        method = ":".join(caller.split(":", 2)[:2])
        if self.did_methods is not None and method not in self.did_methods:
            raise _fail(f"the caller {caller} uses the unsupported DID method {method}; this connector accepts "
                        f"{' and '.join(self.did_methods)} only (Factory-X ADR 003)", "unsupported_did_method")
        try:
            document = self.resolver.resolve(caller)
        except IdentityError as exc:
            raise _fail(f"cannot resolve the caller {caller}: {exc.reason}", "unresolvable") from None
        kid = header.get("kid") or sole_method(document, "capabilityInvocation")
        if did_of(kid, "identity token") != caller:
            raise _fail(f"the token is signed with {kid}, which is not a key of its issuer {caller}", "forged")
        try:
            key = self.resolver.public_key(kid, "capabilityInvocation")
        except IdentityError as exc:
            raise _fail(exc.reason, "forged") from None
        try:
            jws_verify(token, key, "identity token")
        except CredentialError as exc:
            raise _fail(exc.reason, "forged") from None
        if self.audience not in _audiences(claims.get("aud")):
            raise _fail(f"the token is for {claims.get('aud')!r}, not for us ({self.audience})", "wrong_audience")
        self.check_times(claims, now, "the token")
        self.first_use(claims, caller, now, "token")
        return caller, claims

    def first_use(self, claims: dict, issuer: str, now: float, what: str) -> None:
        """Record the ``jti`` of ``claims`` (times checked already); a second use is a replay."""
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise _fail(f"the {what} has no jti", "malformed")
        if not self.replay.first_use(f"{issuer} {jti}", float(claims["exp"]) + self.leeway, now):
            raise _fail(f"{what} {jti} from {issuer} was already used (replay)", "replayed")

    def check_times(self, claims: dict, now: float, what: str) -> None:
        for name in ("exp", "iat", "nbf"):
            value = claims.get(name, 0)
            # NaN would compare false both ways and pass every check below
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise _fail(f"{what} has no finite numeric {name}", "malformed")
        if "exp" not in claims or "iat" not in claims:
            raise _fail(f"{what} needs exp and iat", "malformed")
        exp, iat = claims["exp"], claims["iat"]
        if exp + self.leeway < now:
            raise _fail(f"{what} expired at {_iso(exp)} (now {_iso(now)}, leeway {self.leeway} s)", "expired")
        nbf = claims.get("nbf", iat)
        if nbf - self.leeway > now or iat - self.leeway > now:
            raise _fail(f"{what} is not valid yet (issued {_iso(iat)}, now {_iso(now)}): clock skew "
                        f"beyond the {self.leeway} s leeway", "not_yet_valid")
        if exp - iat > self.max_token_seconds:
            raise _fail(f"{what} lives {int(exp - iat)} s; at most {self.max_token_seconds} s is accepted", "expired")

    def verify_presentation(self, vp: Any, caller: str, now: float, *, nonce: str | None,
                            trusted_issuers: frozenset[str], status_lists: StatusLists | None,
                            nonce_optional: bool = False,
                            profiles: tuple[str, ...] | None = None) -> list[VerifiedCredential]:
        """A presentation JWT by ``caller`` for us (``nonce``, when given, must match; with ``nonce_optional``
        a presentation without one passes: wallets answering a query need not bind it), and every
        credential in it (trusted issuer, signature, validity, subject = caller, not revoked).
        ``vc20-bssl/jwt`` (a ``vp+jwt``) and ``vc11-sl2021/jwt`` (a JWT with a ``vp`` claim,
        connector.identity.vc11) are read; with ``profiles``, only those are accepted."""
        if not isinstance(vp, str):
            raise _fail("a presentation must be a JWT (a JWS string)", "malformed")
        header, claims = jws_unverified(vp, "presentation")
        profile = presentation_profile(header, claims)
        if profile is None:
            raise _fail(f"the presentation has typ {header.get('typ')!r} and no vp claim: neither a "
                        f"{VC20} (vp+jwt) nor a {VC11} (JWT with vp) presentation", "malformed")
        if profiles is not None and profile not in profiles:
            raise _fail(f"the presentation is in the DCP profile {profile}; this connector accepts "
                        f"{', '.join(profiles)} ([identity] presentation_profiles)", "profile_mismatch")
        presentation = {**claims["vp"], **{k: v for k, v in claims.items() if k != "vp"}} if profile == VC11 \
            else claims
        if did_of(header.get("kid"), "presentation") != caller:
            raise _fail(f"the presentation is signed by {header.get('kid')}, not by the caller {caller}", "forged")
        try:
            jws_verify(vp, self.resolver.public_key(header["kid"], "authentication"), "presentation")
        except IdentityError as exc:
            raise _fail(exc.reason, "forged") from None
        types = presentation.get("type")
        # a VCDM 1.1 presentation JWT may leave the holder to its iss (VCDM 1.1 §6.3.1)
        holder = presentation.get("holder", presentation.get("iss") if profile == VC11 else None)
        if "VerifiablePresentation" not in _audiences(types) or holder != caller:
            raise _fail("the presentation is not a VerifiablePresentation held by the caller", "malformed")
        if self.audience not in _audiences(presentation.get("aud")) or \
                (nonce is not None and presentation.get("nonce") != nonce
                 and not (nonce_optional and "nonce" not in presentation)):
            raise _fail("the presentation is not bound to this token (aud/nonce differ)", "replayed")
        self.check_times(presentation, now, "the presentation")
        items = presentation.get("verifiableCredential", [])
        items = items if isinstance(items, list) else [items]
        mixed = sorted({str(credential_profile(i)) for i in items} - {profile})
        if mixed:  # DCP: one data model per presentation
            raise _fail(f"a {profile} presentation holds credentials of another profile ({', '.join(mixed)})",
                        "profile_mismatch")
        return self.verify_credentials(items, caller, now, trusted_issuers=trusted_issuers,
                                       status_lists=status_lists)

    def verify_credentials(self, items: Iterable[Any], caller: str, now: float, *, trusted_issuers: frozenset[str],
                           status_lists: StatusLists | None) -> list[VerifiedCredential]:
        """Every credential verifies, or the whole call fails: a caller presenting a revoked
        credential is not let in on its others."""
        at = datetime.fromtimestamp(now, UTC)
        verified = []
        for item in items:
            try:
                verified.append(verify_credential(
                    item, self.resolver, trusted_issuers=trusted_issuers, status_lists=status_lists,
                    holder=caller, now=at, leeway=timedelta(seconds=self.leeway)))
            except CredentialError as exc:
                raise _fail(f"a presented credential was refused: {exc.reason}", exc.code) from None
        return verified


def missing_types(credentials: Iterable[VerifiedCredential], required: Iterable[str]) -> list[str]:
    held = {t for c in credentials for t in c.types}
    return [t for t in required if t not in held]


class DcpAuthenticator:
    """The ``Authenticator`` of ``dcp`` mode (see the module docstring)."""

    def __init__(self, identity: LocalIdentity, resolver: DidResolver, trusted_issuers: Iterable[str], *,
                 status_lists: StatusLists | None = None, leeway_seconds: int = 10, token_ttl_seconds: int = 120,
                 max_token_seconds: int = 600, required_credentials: Iterable[str] = (MEMBERSHIP,),
                 replay: TokenIds | None = None, clock: Callable[[], float] = time.time,
                 did_methods: tuple[str, ...] | None = None) -> None:
        self.identity = identity
        self.resolver = resolver
        self.trusted_issuers = frozenset(trusted_issuers)
        self.status_lists = status_lists if status_lists is not None else StatusLists(resolver)
        self.leeway = leeway_seconds
        self.token_ttl = token_ttl_seconds
        self.max_token_seconds = max_token_seconds
        self.required = tuple(required_credentials)
        self.replay: TokenIds = replay if replay is not None else ReplayCache()
        self.tokens = SelfIssuedTokens(identity.did, resolver, self.replay, leeway_seconds=leeway_seconds,
                                       max_token_seconds=max_token_seconds, did_methods=did_methods)
        self.clock = clock
        self.last_failure: AuthenticationError | None = None
        self.failures: deque[AuthenticationError] = deque(maxlen=100)  # for tests and diagnostics

    # --- Authenticator -------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Participant | None:
        try:
            return self.check(authorization, None)
        except AuthenticationError:
            return None

    def check(self, authorization: str | None, policy: dict | None = None, *, now: float | None = None) -> Participant:
        """:meth:`verify`, logged, failing closed: an unexpected error is a refusal too (never a 500).
        ``policy`` is ignored: the embedded presentation holds every credential."""
        try:
            return self.verify(authorization, now=now)
        except AuthenticationError as exc:
            self.last_failure = exc
            self.failures.append(exc)
            log.warning("DSP caller refused (%s): %s", exc.code, exc.reason)
            raise
        except Exception:  # a bug on hostile input: fail closed (the edge answers 404), never 500
            log.exception("DSP caller refused: the token could not be checked")
            self.last_failure = AuthenticationError("the token could not be checked (internal error)",
                                                    code="internal")
            raise self.last_failure from None

    def outgoing_token(self, counterparty_id: str | None) -> str | None:
        if not counterparty_id or not counterparty_id.startswith("did:"):
            log.warning("no identity token for %r: in dcp mode the counterparty id must be its DID", counterparty_id)
            return None
        return "Bearer " + create_id_token(self.identity, counterparty_id, now=int(self.clock()), ttl=self.token_ttl)

    # --- verification ----------------------------------------------------------------------------

    def verify(self, authorization: str | None, *, now: float | None = None) -> Participant:
        """The verified caller, or :class:`AuthenticationError` with ``code`` and ``reason``."""
        now = self.clock() if now is None else now
        token = (authorization or "").strip()
        if not token:
            raise _fail("no Authorization header", "missing_token")
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        try:
            caller, claims = self.tokens.verify(token, now)
            credentials = self._verify_presentation(claims, caller, now)
            return Participant(caller, participant_claims(credentials))
        except AuthenticationError:
            raise
        except IdentityError as exc:
            raise _fail(exc.reason, exc.code) from None

    def _verify_presentation(self, claims: dict, caller: str, now: float) -> list:
        vp = claims.get("vp")
        if not isinstance(vp, str):
            raise _fail("the token carries no presentation (claim 'vp', a vp+jwt)", "missing_presentation")
        verified = self.tokens.verify_presentation(vp, caller, now, nonce=claims["jti"],
                                                   trusted_issuers=self.trusted_issuers,
                                                   status_lists=self.status_lists)
        missing = missing_types(verified, self.required)
        if missing:
            raise _fail(f"the caller presented no valid {', '.join(missing)}", "missing_credential")
        return verified


def _iso(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):  # a hostile exp of 1e300 must not become a 500
        return repr(seconds)


def dcp_authenticator_from_settings(settings: Any, identity: LocalIdentity | None, *,
                                    resolver: DidResolver | None = None,
                                    replay: TokenIds | None = None) -> DcpAuthenticator:
    """Build the ``dcp-embedded``-mode authenticator from ``settings.identity``."""
    config = settings.identity
    if identity is None:
        raise IdentityError(f"identity.auth_mode = {config.auth_mode!r} needs identity.key_file (run `connector init`)")
    if not settings.participant_id.startswith("did:"):
        raise IdentityError(f"in dcp mode participant_id must be our DID, not {settings.participant_id!r}")
    if not config.trusted_issuers:
        log.warning("dcp mode with no identity.trusted_issuers: every caller will be refused")
    resolver = resolver or identity.resolver
    return DcpAuthenticator(
        identity, resolver, config.trusted_issuers,
        status_lists=StatusLists(resolver, ttl_seconds=config.status_list_cache_seconds),
        leeway_seconds=config.leeway_seconds, token_ttl_seconds=config.token_ttl_seconds,
        required_credentials=config.required_credentials, replay=replay,
        did_methods=did_methods_for(settings.profile.dataspace))
