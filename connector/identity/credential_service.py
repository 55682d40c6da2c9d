"""Our Credential Service, presentation side (DCP v1.0 §5): ``POST <base>/presentations/query``.

A verifier (a provider we called) queries with ``Authorization: Bearer <its self-issued ID
token>`` whose ``token`` claim is the access token our STS put in our call to it
(:mod:`connector.identity.sts`). :meth:`CredentialService.answer` checks, each failure with a
reason, a ``code`` and an HTTP status:

1. the verifier's token (:class:`connector.identity.dcp.SelfIssuedTokens`: signature by the
   verifier's DID, ``aud`` us, times, ``jti`` unseen) → 401;
2. the access token: signed by our own key, ``aud`` us, ``sub`` the querying verifier (a token
   given to one verifier is useless to another), unexpired, used once → 401;
3. the query (:class:`PresentationQuery`) → 400; every scope asked must be granted by the access
   token, else 403 naming the scope; a presentation definition is read in its common form
   (constraints on ``$.type``), anything else → 501;
4. the answer: presentations holding ONLY the credentials the scopes select, one per DCP profile
   (``vc20-bssl/jwt``: a ``vp+jwt``; ``vc11-sl2021/jwt``: a JWT with a ``vp`` claim; only the
   profiles of ``[identity] presentation_profiles``), bound
   to the verifier (``aud``) and to its token (``nonce`` = its ``jti``); or, when a presentation
   definition asks for ``ldp_vp``/``ldp_vc``, a Data Integrity presentation (eddsa-rdfc-2022,
   purpose ``authentication``, ``id`` ``urn:uuid:<jti>``, a proof that expires).

Nothing is stored but the two ``jti`` (the replay cache).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .contexts import CREDENTIALS_V2
from .credentials import CredentialError, format_time, jws_unverified, jws_verify
from .dcp import AuthenticationError, SelfIssuedTokens, TokenIds, create_presentation
from .dcp_messages import DcpMessageError, PresentationQuery, PresentationResponse, Scope
from .did import DidResolver, IdentityError
from .sts import ACCESS_TOKEN_TYP
from .vc11 import VC11, VC20, create_vc11_presentation, credential_profile
from .wallet import LocalIdentity

log = logging.getLogger("pontis.identity")


class QueryRefused(IdentityError):
    """A presentation query we do not answer: ``status``, ``code`` and ``reason`` say why."""

    def __init__(self, reason: str, *, code: str, status: int) -> None:
        super().__init__(reason, code=code)
        self.status = status


def definition_scopes(definition: dict[str, Any]) -> tuple[Scope, ...]:
    """The credential types a presentation definition asks for, in the common form: each input
    descriptor constrains ``$.type`` with a ``pattern`` or ``const`` naming a type."""
    descriptors = definition.get("input_descriptors")
    if not isinstance(descriptors, list) or not descriptors:
        raise QueryRefused("presentationDefinition.input_descriptors: expected a non-empty array",
                           code="bad_request", status=400)
    scopes = []
    for n, descriptor in enumerate(descriptors):
        fields = ((descriptor.get("constraints") or {}).get("fields") if isinstance(descriptor, dict) else None) or []
        wanted = [f.get("filter", {}) for f in fields
                  if isinstance(f, dict) and f.get("path") in (["$.type"], ["$.vc.type"]) and isinstance(f.get("filter"), dict)]
        names = [w.get("pattern") or w.get("const") for w in wanted]
        if len(names) != 1 or not isinstance(names[0], str) or not names[0].isidentifier():
            raise QueryRefused(f"presentationDefinition.input_descriptors[{n}]: only a constraint on $.type naming "
                               "one credential type is supported; send a scope instead", code="not_implemented",
                               status=501)
        scopes.append(Scope("org.eclipse.dspace.dcp.vc.type", names[0]))
    return tuple(scopes)


def wants_data_integrity(definition: dict[str, Any]) -> bool:
    """Whether a presentation definition asks for Linked Data (Data Integrity) formats: ``ldp_vp``,
    ``ldp_vc`` or ``ldp`` in its own or a descriptor's ``format``."""
    formats = [definition.get("format")] + [d.get("format") for d in definition.get("input_descriptors", [])
                                            if isinstance(d, dict)]
    return any(isinstance(f, dict) and {"ldp_vp", "ldp_vc", "ldp"} & set(f) for f in formats)


class CredentialService:
    """Answers presentation queries from our wallet (see the module docstring)."""

    def __init__(self, identity: LocalIdentity, resolver: DidResolver, replay: TokenIds, *, leeway_seconds: int = 10,
                 ttl_seconds: int = 120, clock: Callable[[], float] = time.time,
                 profiles: tuple[str, ...] = (VC20, VC11)) -> None:
        self.identity = identity
        self.profiles = profiles  # the DCP profiles we present in: one presentation per profile held
        self.tokens = SelfIssuedTokens(identity.did, resolver, replay, leeway_seconds=leeway_seconds)
        self.ttl = ttl_seconds
        self.clock = clock

    def answer(self, authorization: str | None, body: Any, *, now: float | None = None) -> dict[str, Any]:
        """The ``PresentationResponseMessage``, or :class:`QueryRefused`."""
        now = self.clock() if now is None else now
        try:
            verifier, claims = self._verifier(authorization, now)
            granted = self._granted(claims.get("token"), verifier, now)
        except AuthenticationError as exc:
            raise QueryRefused(exc.reason, code=exc.code, status=401) from None
        try:
            query = PresentationQuery.from_json(body)
        except DcpMessageError as exc:
            raise QueryRefused(exc.reason, code=exc.code, status=exc.status) from None
        scopes = query.scopes or definition_scopes(query.presentation_definition or {})
        refused = [str(s) for s in scopes if s.key not in granted]
        if refused:
            raise QueryRefused(f"{verifier} may not read {', '.join(refused)}: the access token grants only "
                               f"{', '.join(sorted(':'.join(k) for k in granted)) or 'nothing'}",
                               code="scope_not_granted", status=403)
        self.identity.wallet.refresh()
        entries = [e for e in self.identity.wallet.entries if any(s.selects(e) for s in scopes)]
        linked_data = query.presentation_definition is not None and wants_data_integrity(query.presentation_definition)
        log.info("presentation query from %s for %s: %d credential(s)", verifier,
                 ", ".join(str(s) for s in scopes), len(entries))
        if linked_data:
            return PresentationResponse((self._data_integrity(entries, claims["jti"], now),)).to_json()
        return PresentationResponse(self._presentations(entries, verifier, claims["jti"], int(now))).to_json()

    def _presentations(self, entries: list[dict[str, Any]], verifier: str, nonce: str, now: int) -> tuple[str, ...]:
        """One presentation JWT per DCP profile (one data model each), of our profiles only; with
        nothing to show, an empty one in our first profile."""
        by_profile: dict[str, list[str]] = {}
        for entry in entries:
            jwt = entry.get("jwt")
            profile = credential_profile(jwt)
            if isinstance(jwt, str) and profile in self.profiles:
                by_profile.setdefault(profile, []).append(jwt)
        out = []
        for profile in [p for p in self.profiles if p in by_profile] or list(self.profiles[:1]):
            jwts = by_profile.get(profile, [])
            if profile == VC11:
                out.append(create_vc11_presentation(self.identity.did, self.identity.key, self.identity.kid, verifier,
                                                    nonce, now=now, ttl=self.ttl, credentials=jwts))
            else:
                out.append(create_presentation(self.identity, verifier, nonce, now=now, ttl=self.ttl, credentials=jwts))
        return tuple(out)

    def _data_integrity(self, entries: list[dict[str, Any]], nonce: str, now: float) -> dict[str, Any]:
        """A presentation secured with our eddsa-rdfc-2022 proof (purpose ``authentication``), bound to
        the verifier's token by its ``id`` (``urn:uuid:<jti>``) and short-lived (the proof's ``expires``)."""
        presentation = {"@context": [CREDENTIALS_V2], "id": f"urn:uuid:{nonce}", "type": ["VerifiablePresentation"],
                        "holder": self.identity.did,
                        "verifiableCredential": [e["dataIntegrity"] for e in entries
                                                 if isinstance(e.get("dataIntegrity"), dict)]}
        at = datetime.fromtimestamp(now, UTC)
        # the embedded credentials keep their own @context (the pinned credentials v2)
        return self.identity.sign(presentation, proof_purpose="authentication", created=format_time(at),
                                  allow_inline_contexts=True,
                                  expires=format_time(at + timedelta(seconds=self.ttl)))

    def _verifier(self, authorization: str | None, now: float) -> tuple[str, dict]:
        token = (authorization or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise AuthenticationError("no Authorization header: a presentation query needs the verifier's "
                                      "self-issued ID token", code="missing_token")
        try:
            return self.tokens.verify(token, now)
        except AuthenticationError:
            raise
        except IdentityError as exc:
            raise AuthenticationError(exc.reason, code=exc.code) from None

    def _granted(self, access: Any, verifier: str, now: float) -> set[tuple[str, str]]:
        """The scopes (by what they select) our access token grants ``verifier``."""
        if not isinstance(access, str):
            raise AuthenticationError("the verifier's token carries no access token (claim 'token')",
                                      code="missing_token")
        try:
            header, claims = jws_unverified(access, "access token")
            if header.get("typ") != ACCESS_TOKEN_TYP:
                raise AuthenticationError(f"the access token has typ {header.get('typ')!r}, not {ACCESS_TOKEN_TYP}",
                                          code="malformed")
            jws_verify(access, self.identity.key.public_key, "access token")
        except CredentialError as exc:
            raise AuthenticationError(f"the access token was not issued by our STS: {exc.reason}",
                                      code="forged") from None
        if claims.get("iss") != self.identity.did or claims.get("aud") != self.identity.did:
            raise AuthenticationError("the access token is not for our Credential Service", code="wrong_audience")
        if claims.get("sub") != verifier:
            raise AuthenticationError(f"the access token was given to {claims.get('sub')}, not to {verifier}",
                                      code="wrong_audience")
        self.tokens.check_times(claims, now, "the access token")
        self.tokens.first_use(claims, self.identity.did, now, "access token")
        scope = claims.get("scope")
        try:
            return {Scope.parse(s).key for s in (scope.split() if isinstance(scope, str) else [])}
        except DcpMessageError as exc:
            raise AuthenticationError(f"the access token's scope: {exc.reason}", code="malformed") from None
