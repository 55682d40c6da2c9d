"""DCP v1.0 presentation flow, both sides of a DSP call: ``[identity] auth_mode = "dcp"`` (the default
DCP mode; ``"dcp-embedded"`` is the older :mod:`connector.identity.dcp`).

To turn it on, a connector needs ``[identity] auth_mode = "dcp"``, ``key_file``, its credentials
(``credentials_file``, the wallet), ``trusted_issuers`` and a did:web participant id; the DID
document it serves then announces its ``CredentialService`` (``<public_url>/api/dcp``), which
answers ``POST /api/dcp/presentations/query``. Optional: ``sts_url`` + ``sts_client_id`` (+
``$PONTIS_STS_CLIENT_SECRET``) for an external STS; ``presentation_format = "ldp"`` to ask callers
for Data Integrity presentations instead of vp+jwt.

**Caller** (:meth:`DcpPresentationAuthenticator.outgoing_token_for`): the STS makes a self-issued ID
token for the counterparty's DID carrying an access token for the scopes of the policy at stake
(:func:`connector.identity.dcp_messages.scopes_for_policy`: MembershipCredential, plus e.g.
DataExchangeGovernanceCredential for a FrameworkAgreement constraint).

**Verifier** (:meth:`DcpPresentationAuthenticator.verify`): check the caller's token
(:class:`connector.identity.dcp.SelfIssuedTokens`); resolve the caller's DID and find its
``CredentialService``; POST a ``PresentationQueryMessage`` with the scopes of the same policy
there, authorized by our own self-issued token carrying the caller's access token; read the
``PresentationResponseMessage``: every presentation is a vp+jwt by the caller, for us, bound to
our query token (``nonce``) — or a Data Integrity presentation likewise bound — and every credential in it verifies (trusted issuer, signature,
validity, subject = caller, status list); the required types (``required_credentials``) must be
there, while a type only the policy asks is left to the policy engine, whose denial names the
constraint. The claims the policy engine sees come from these credentials only. Every refusal has a ``code`` and a ``reason``,
logged and put in the DSP error (:attr:`refusal`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from .auth import Participant
from .credentials import MEMBERSHIP, StatusLists, VerifiedCredential, jws_unverified, participant_claims
from .dataintegrity import verify as verify_data_integrity
from .dcp import AuthenticationError, SelfIssuedTokens, TokenIds, missing_types
from .dcp_messages import (
    QUERY_PATH,
    DcpMessageError,
    PresentationQuery,
    PresentationResponse,
    Scope,
    credential_service_endpoint,
    scopes_for_policy,
)
from .did import DidResolver, IdentityError
from .sts import SecureTokenService
from .vc11 import VC11, did_methods_for, profiles_for
from .wallet import LocalIdentity

log = logging.getLogger("pontis.identity")

# POST url, JSON body, Authorization header → (HTTP status, parsed JSON body or None)
JsonPost = Callable[[str, dict[str, Any], str], tuple[int, Any]]


def _fail(reason: str, code: str) -> AuthenticationError:
    return AuthenticationError(reason, code=code)


def ldp_definition(scopes: Iterable[Scope]) -> dict[str, Any]:
    """A presentation definition asking a Data Integrity presentation of the scopes' credential types."""
    return {"id": str(uuid.uuid4()), "format": {"ldp_vp": {"proof_type": ["DataIntegrityProof"]}},
            "input_descriptors": [
                {"id": t, "constraints": {"fields": [{"path": ["$.type"], "filter": {"type": "string", "pattern": t}}]}}
                for t in (s.credential_type for s in scopes) if t]}


class DcpPresentationAuthenticator:
    """The ``Authenticator`` of ``dcp`` mode (see the module docstring)."""

    def __init__(self, identity: LocalIdentity, resolver: DidResolver, sts: SecureTokenService, post: JsonPost,
                 trusted_issuers: Iterable[str], replay: TokenIds, *, status_lists: StatusLists | None = None,
                 leeway_seconds: int = 10, required_credentials: Iterable[str] = (MEMBERSHIP,),
                 presentation_format: str = "jwt", clock: Callable[[], float] = time.time,
                 dataspace: str = "catena-x", profiles: tuple[str, ...] | None = None) -> None:
        self.identity = identity
        self.resolver = resolver
        self.sts = sts
        self.post = post
        self.trusted_issuers = frozenset(trusted_issuers)
        self.status_lists = status_lists if status_lists is not None else StatusLists(resolver)
        self.required = tuple(required_credentials)
        self.dataspace = dataspace  # [profile] dataspace: whose scope alias we ask with
        # the DCP presentation profiles we accept; a presentation in another is refused (profile_mismatch)
        self.profiles = profiles_for(dataspace, profiles)
        self.tokens = SelfIssuedTokens(identity.did, resolver, replay, leeway_seconds=leeway_seconds,
                                       did_methods=did_methods_for(dataspace))
        # "jwt": ask by scope (vp+jwt, what Tractus-X wallets answer); "ldp": by a presentation
        # definition asking ldp_vp (a Data Integrity presentation)
        if presentation_format not in ("jwt", "ldp"):
            raise IdentityError(f"presentation_format {presentation_format!r}: expected 'jwt' or 'ldp'", code="config")
        if presentation_format == "ldp" and dataspace == "factory-x":
            raise IdentityError("presentation_format = 'ldp' asks for Data Integrity presentations; the Factory-X "
                                f"profile presents in {VC11} (ADR 003): use 'jwt'", code="config")
        self.presentation_format = presentation_format
        self.clock = clock
        self.failures: deque[AuthenticationError] = deque(maxlen=100)  # for tests and diagnostics

    # --- caller side -------------------------------------------------------------------------------

    def scopes(self, policy: dict[str, Any] | None) -> list[str]:
        return scopes_for_policy(policy, self.required, self.dataspace)

    def outgoing_token(self, counterparty_id: str | None) -> str | None:
        return self.outgoing_token_for(counterparty_id, None)

    def outgoing_token_for(self, counterparty_id: str | None, policy: dict[str, Any] | None) -> str | None:
        """``Bearer`` + a token for the counterparty granting it the scopes ``policy`` needs."""
        if not counterparty_id or not counterparty_id.startswith("did:"):
            log.warning("no identity token for %r: in dcp mode the counterparty id must be its DID", counterparty_id)
            return None
        try:
            return "Bearer " + self.sts.self_issued_token(counterparty_id, scopes=self.scopes(policy))
        except IdentityError as exc:
            log.warning("no identity token for %s: %s", counterparty_id, exc.reason)
            return None

    # --- verifier side ------------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Participant | None:
        return self.authenticate_for(authorization, None)

    def authenticate_for(self, authorization: str | None, policy: dict[str, Any] | None) -> Participant | None:
        """The verified caller, or None (the refusal is logged and kept in :attr:`failures`)."""
        try:
            return self.check(authorization, policy)
        except AuthenticationError:
            return None

    def check(self, authorization: str | None, policy: dict[str, Any] | None, *,
              now: float | None = None) -> Participant:
        """:meth:`verify`, logged, failing closed: an unexpected error is a refusal too (never a 500)."""
        try:
            return self.verify(authorization, policy, now=now)
        except AuthenticationError as exc:
            self.failures.append(exc)
            log.warning("DSP caller refused (%s): %s", exc.code, exc.reason)
            raise
        except Exception:
            log.exception("DSP caller refused: the token could not be checked")
            raise _fail("the token could not be checked (internal error)", "internal") from None

    def verify(self, authorization: str | None, policy: dict[str, Any] | None = None, *,
               now: float | None = None) -> Participant:
        """The verified caller, or :class:`AuthenticationError` with ``code`` and ``reason``."""
        now = self.clock() if now is None else now
        token = (authorization or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise _fail("no Authorization header", "missing_token")
        try:
            caller, claims = self.tokens.verify(token, now)
            access = claims.get("token")
            if not isinstance(access, str) or not access:
                raise _fail("the token carries no access token (claim 'token') for the caller's Credential "
                            "Service", "missing_access_token")
            scopes = self.scopes(policy)
            credentials = self._query(caller, access, scopes, now)
            # the required types let the caller in; one the policy asks and the caller lacks is left to
            # the policy engine, whose denial says which constraint failed
            missing = missing_types(credentials, self.required)
            if missing:
                raise _fail(f"the caller's Credential Service presented no valid {', '.join(missing)}",
                            "missing_credential")
            return Participant(caller, participant_claims(credentials))
        except AuthenticationError:
            raise
        except IdentityError as exc:
            raise _fail(exc.reason, exc.code) from None

    def _query(self, caller: str, access: str, scopes: list[str], now: float) -> list[VerifiedCredential]:
        try:
            endpoint = credential_service_endpoint(self.resolver.resolve(caller))
        except IdentityError as exc:
            raise _fail(f"cannot query the caller's credentials: {exc.reason}", exc.code) from None
        query_token = self.sts.self_issued_token(caller, token=access)
        nonce = jws_unverified(query_token, "query token")[1].get("jti")
        url = endpoint + QUERY_PATH
        asked = tuple(Scope.parse(s) for s in scopes)
        query = PresentationQuery(asked) if self.presentation_format == "jwt" else \
            PresentationQuery(presentation_definition=ldp_definition(asked))
        status, body = self.post(url, query.to_json(), "Bearer " + query_token)
        if status != 200:
            detail = body.get("reason") or body.get("error") if isinstance(body, dict) else None
            raise _fail(f"the caller's Credential Service ({url}) answered HTTP {status}"
                        + (f": {detail}" if detail else ""), "presentation_query_failed")
        try:
            response = PresentationResponse.from_json(body)
        except DcpMessageError as exc:
            raise _fail(f"the caller's Credential Service answered no PresentationResponseMessage: {exc.reason}",
                        "malformed") from None
        credentials: list[VerifiedCredential] = []
        bound = nonce if isinstance(nonce, str) else None
        for presentation in response.presentations:
            if isinstance(presentation, dict):
                credentials += self._data_integrity(presentation, caller, now, bound)
            else:
                credentials += self.tokens.verify_presentation(
                    presentation, caller, now, nonce=bound, trusted_issuers=self.trusted_issuers,
                    status_lists=self.status_lists, nonce_optional=True, profiles=self.profiles)
        return credentials

    def _data_integrity(self, presentation: dict[str, Any], caller: str, now: float,
                        nonce: str | None) -> list[VerifiedCredential]:
        """A Data Integrity presentation: held and signed (purpose ``authentication``) by the caller,
        bound to our query token (``id`` ``urn:uuid:<jti>``), its proof expiring; then every credential."""
        types = presentation.get("type")
        if "VerifiablePresentation" not in (types if isinstance(types, list) else [types]) or \
                presentation.get("holder") != caller:
            raise _fail("the presentation is not a VerifiablePresentation held by the caller", "malformed")
        if nonce is not None and presentation.get("id") != f"urn:uuid:{nonce}":
            raise _fail("the presentation is not bound to our query (its id is not urn:uuid:<our token's jti>)",
                        "replayed")
        proofs = presentation.get("proof")
        proofs = proofs if isinstance(proofs, list) else [proofs]
        if not proofs or any(not isinstance(p, dict) or "expires" not in p or
                             str(p.get("verificationMethod", "")).split("#", 1)[0] != caller for p in proofs):
            raise _fail("every proof on the presentation must be the caller's, with an expiry", "forged")
        result = verify_data_integrity(presentation, self.resolver.resolve_key, proof_purpose="authentication",
                                       allow_inline_contexts=True)
        if not result.ok:
            raise _fail(f"the presentation's proof: {result.reason}", "forged")
        items = presentation.get("verifiableCredential", [])
        return self.tokens.verify_credentials(items if isinstance(items, list) else [items], caller, now,
                                              trusted_issuers=self.trusted_issuers, status_lists=self.status_lists)


def presentation_authenticator_from_settings(settings: Any, identity: LocalIdentity | None, sts: SecureTokenService,
                                             post: JsonPost, replay: TokenIds) -> DcpPresentationAuthenticator:
    """Build the ``dcp``-mode authenticator from ``settings.identity``."""
    config = settings.identity
    if identity is None:
        raise IdentityError("identity.auth_mode = \"dcp\" needs identity.key_file (run `connector init`)")
    if not settings.participant_id.startswith("did:"):
        raise IdentityError(f"in dcp mode participant_id must be our DID, not {settings.participant_id!r}")
    if not config.trusted_issuers:
        log.warning("dcp mode with no identity.trusted_issuers: every caller will be refused")
    return DcpPresentationAuthenticator(
        identity, identity.resolver, sts, post, config.trusted_issuers, replay,
        status_lists=StatusLists(identity.resolver, ttl_seconds=config.status_list_cache_seconds),
        leeway_seconds=config.leeway_seconds, required_credentials=config.required_credentials,
        presentation_format=config.presentation_format, dataspace=settings.profile.dataspace,
        profiles=tuple(config.presentation_profiles or ()) or None)
