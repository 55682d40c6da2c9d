"""Endpoint Data References: the tokens a pull consumer presents to our data plane, and their lifecycle.

An EDR access token is a JWT signed with Ed25519 by a key every replica shares (kept out of the
database: see ``connector.services.secrets``), scoped to one transfer process and its agreement, valid for ``edr_ttl_seconds``. It
comes with a refresh token (Tractus-X refresh-token grant profile): an opaque random string,
stored only as a SHA-256 hash, bound to the access token it was issued with, usable once.

One *grant* row (``EdrGrant``) is one generation of the pair. The access token works only while
its grant is ``active``: a refresh rotates the grant, and the transfer ending (completion,
suspension, termination) or its agreement lapsing revokes it. On every request the data plane
also re-reads the transfer and re-checks the agreement (``authorize``), so nothing that happened
since the token was issued can be outrun by it.

Token formats (what the consumer sees in the DataAddress of the TransferStartMessage: ``endpointType``
``https://w3id.org/idsa/v4.1/HTTP``, ``endpoint``, and these ``endpointProperties``, named by IRI as
Factory-X ADR 002 and Tractus-X EDC name them: a property name is a plain string in the DSP context,
so there is no compact form an EDC consumer would expand)::

    https://w3id.org/edc/v0.0.1/ns/endpoint         {public_url}/api/public
    https://w3id.org/edc/v0.0.1/ns/authorization    <JWT: iss=aud=us, sub=consumer, tp, agreement, jti, exp>
    https://w3id.org/edc/v0.0.1/ns/authType         bearer
    https://w3id.org/tractusx/auth/refreshToken     <opaque>
    https://w3id.org/tractusx/auth/refreshEndpoint  {public_url}/api/public/token
    https://w3id.org/tractusx/auth/expiresIn        "300"
    https://w3id.org/tractusx/auth/refreshAudience  <our participant id>

The same key signs the MQTT broker's tokens (Factory-X ADR 012, ``services.dataflow.mqtt``), with
another audience (``broker_audience``), so that neither opens the other's door; a refresh keeps
a token's audience and its ``topic``. A token an external broker's IdP issued is recorded as a
grant too (``grant_external``: by its hash, ``EXTERNAL`` + fingerprint), so it refreshes the same way.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import CursorResult, Update, delete, update
from sqlmodel import Session, col, select

from connector.identity.did import IdentityError
from connector.jsonld.terms import EDC_NS, TX_AUTH_NS
from connector.protocol import Role
from connector.protocol.transfer_messages import DataAddress
from connector.services.errors import ServiceError
from connector.services.secrets import SeedFile, env_seed
from connector.store.models import Agreement, ConnectorSecret, EdrGrant, TransferProcess

HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"
KEY_NAME = "edr-signing-key"
REFRESH_TOKEN = TX_AUTH_NS + "refreshToken"
REFRESH_ENDPOINT = TX_AUTH_NS + "refreshEndpoint"
EXPIRES_IN = TX_AUTH_NS + "expiresIn"
REFRESH_AUDIENCE = TX_AUTH_NS + "refreshAudience"
EXTERNAL = "idp:"  # EdrGrant ids of tokens an external IdP issued: EXTERNAL + sha256 of the token
KEPT_CLAIMS = ("topic",)  # what a refresh carries over from the old token


class EdrError(Exception):
    """A request the data plane refuses: ``status`` 401 (no or bad token), 403 (not any more), ...

    ``code`` is machine-readable (OAuth 2 error codes on the token endpoint); ``revoke`` names a
    transfer whose grants the caller should revoke, after its failed transaction rolled back.
    """

    def __init__(self, status: int, reason: str, code: str = "invalid_token", revoke: str | None = None) -> None:
        self.status = status
        self.reason = reason
        self.code = code
        self.revoke = revoke
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class EdrClaims:
    transfer_id: str
    agreement_id: str
    consumer_id: str
    expires_at: int
    token_id: str


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    expires_at: int  # epoch seconds


@dataclass(frozen=True, slots=True)
class Authorized:
    """A data request that may proceed: its token's claims, the transfer and the agreement."""

    claims: EdrClaims
    transfer: TransferProcess
    agreement: Agreement


def _new_seed() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def refresh_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bare_token(header: str | None) -> str:
    """The token of an Authorization header: raw (as EDC consumers send it) or ``Bearer ...``."""
    token = (header or "").strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    return token


class EdrIssuer:
    def __init__(self, participant_id: str, public_url: str, ttl_seconds: int = 300,
                 refresh_ttl_seconds: int = 86_400, key_file: Path | str | None = None) -> None:
        self.participant_id = participant_id
        self.broker_audience = participant_id + "#mqtt"  # our MQTT broker's tokens (ADR 012)
        self.endpoint = public_url.rstrip("/") + "/api/public"
        self.refresh_endpoint = self.endpoint + "/token"
        self.ttl_seconds = ttl_seconds
        self.refresh_ttl_seconds = refresh_ttl_seconds
        # where the signing key lives (services.secrets): the environment, a 0600 file, or else
        # the database (PostgreSQL replicas without a shared file)
        self.key_file = SeedFile(key_file) if key_file else None
        # checks a caller's self-issued (STS) token and returns its DID: a refresh may be authorized by
        # one carrying the access token in its ``token`` claim (Factory-X ADR 002, Tractus-X EDC)
        self.callers: Callable[[str, float], str] | None = None
        self._key: Ed25519PrivateKey | None = None
        self._lock = threading.Lock()

    # --- the signing key ---------------------------------------------------------------------

    def _outside_db(self, session: Session, write: bool) -> Ed25519PrivateKey | None:
        """The key from the environment or the key file; a key an older install kept in the
        database moves into the file (in a write session), so its EDRs stay valid."""
        seed = env_seed()
        if seed is None and self.key_file is not None:
            with self._lock:
                seed = self.key_file.read()
                if seed is None:
                    row = session.get(ConnectorSecret, KEY_NAME)
                    if row is None and not write:
                        return None  # created by the first write, never in a read session
                    old = base64.b64decode(row.value["seed"]) if row is not None else None
                    seed = self.key_file.create(old or _new_seed())
        if seed is None:
            return None
        if write and session.get(ConnectorSecret, KEY_NAME) is not None:
            session.execute(delete(ConnectorSecret).where(col(ConnectorSecret.name) == KEY_NAME))
        return Ed25519PrivateKey.from_private_bytes(seed)

    def key(self, session: Session) -> Ed25519PrivateKey:
        """The signing key, created by whichever replica needs it first (in a write session)."""
        if self._key is None:
            self._key = self._outside_db(session, write=True)
        if self._key is None:
            row = session.get(ConnectorSecret, KEY_NAME)
            if row is None:
                row = ConnectorSecret(name=KEY_NAME, value={"seed": base64.b64encode(_new_seed()).decode()})
                session.add(row)
                session.flush()
            self._key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(row.value["seed"]))
        return self._key

    def public_key(self, session: Session) -> Ed25519PublicKey | None:
        """The verification key, never created here: verifying runs in read sessions, and a key
        made there would be cached but never stored (a restart or another replica would differ)."""
        if self._key is None:
            self._key = self._outside_db(session, write=False)
        if self._key is None:
            row = session.get(ConnectorSecret, KEY_NAME)
            if row is None:
                return None
            self._key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(row.value["seed"]))
        return self._key.public_key()

    # --- issuing ----------------------------------------------------------------------------

    def grant(self, session: Session, transfer: TransferProcess, now_ms: int, *, audience: str | None = None,
              claims: dict[str, Any] | None = None) -> TokenPair:
        """A new access + refresh token pair for ``transfer``, recorded as an active grant;
        ``audience`` is our data plane unless said otherwise, ``claims`` are added to the token."""
        now = now_ms // 1000
        jti = str(uuid.uuid4())
        body = {
            **(claims or {}),
            "iss": self.participant_id, "aud": audience or self.participant_id, "sub": transfer.counterparty_id,
            "iat": now, "exp": now + self.ttl_seconds, "jti": jti,
            "tp": transfer.id, "agreement": transfer.agreement_id,
        }
        access = jwt.encode(body, self.key(session), algorithm="EdDSA")
        refresh = self._record(session, jti, transfer, now_ms, (now + self.ttl_seconds) * 1000)
        return TokenPair(access, refresh, self.ttl_seconds, now + self.ttl_seconds)

    def grant_external(self, session: Session, transfer: TransferProcess, now_ms: int, token: str,
                       ttl_seconds: int) -> TokenPair:
        """Record a token another IdP issued for ``transfer`` (an external MQTT broker's), with a
        refresh token of ours: refreshing it asks that IdP again (``refresh(renew=...)``)."""
        expires = now_ms // 1000 + ttl_seconds
        refresh = self._record(session, external_id(token), transfer, now_ms, expires * 1000)
        return TokenPair(token, refresh, ttl_seconds, expires)

    def _record(self, session: Session, grant_id: str, transfer: TransferProcess, now_ms: int, expires_ms: int) -> str:
        refresh = secrets.token_urlsafe(32)
        session.add(EdrGrant(id=grant_id, transfer_id=transfer.id, refresh_hash=refresh_hash(refresh), status="active",
                             issued_at=now_ms, expires_at=expires_ms,
                             refresh_expires_at=now_ms + self.refresh_ttl_seconds * 1000))
        return refresh

    def issue(self, session: Session, transfer: TransferProcess, now_ms: int) -> tuple[str, int]:
        """An access token and its expiry (epoch seconds)."""
        pair = self.grant(session, transfer, now_ms)
        return pair.access_token, pair.expires_at

    def address(self, session: Session, transfer: TransferProcess, now_ms: int) -> DataAddress:
        """The EDR the provider puts in its TransferStartMessage."""
        pair = self.grant(session, transfer, now_ms)
        ttl = str(self.ttl_seconds)
        return DataAddress(HTTP_ENDPOINT_TYPE, self.endpoint, (
            (EDC_NS + "endpoint", self.endpoint), (EDC_NS + "authorization", pair.access_token),
            (EDC_NS + "authType", "bearer"), (REFRESH_TOKEN, pair.refresh_token), (REFRESH_ENDPOINT, self.refresh_endpoint),
            (EXPIRES_IN, ttl), (REFRESH_AUDIENCE, self.participant_id),
        ))

    # --- checking ---------------------------------------------------------------------------

    def _decode(self, session: Session, token: str | None, audience: str | list[str] | None = None) -> dict:
        token = bare_token(token)
        if not token:
            raise EdrError(401, "no token: send the EDR's authorization value in the Authorization header")
        key = self.public_key(session)
        if key is None:
            raise EdrError(401, "the token is not one this connector issued (it has issued none)")
        try:
            return jwt.decode(token, key, algorithms=["EdDSA"], audience=audience or self.participant_id,
                              issuer=self.participant_id,
                              options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                       "require": ["exp", "tp", "jti"]})  # time is ours to check
        except jwt.PyJWTError as exc:
            raise EdrError(401, f"the token is not one this connector issued: {exc}") from exc

    @staticmethod
    def _claims(raw: dict) -> EdrClaims:
        return EdrClaims(raw["tp"], raw.get("agreement", ""), raw.get("sub", ""), raw["exp"], raw["jti"])

    def decode(self, session: Session, token: str | None, audience: str) -> dict:
        """A token's claims, checked to be ours, unaltered and for ``audience``; not its expiry."""
        return self._decode(session, token, audience)

    def verify(self, session: Session, token: str | None, now_ms: int, audience: str | None = None) -> EdrClaims:
        """The claims of a valid, unexpired token of a live grant, or EdrError saying why not."""
        claims = self._claims(self._decode(session, token, audience))
        if claims.expires_at * 1000 <= now_ms:
            raise EdrError(401, "the token has expired; refresh the EDR")
        grant = session.get(EdrGrant, claims.token_id)
        if grant is None or grant.transfer_id != claims.transfer_id:
            raise EdrError(403, f"the token was not issued for transfer {claims.transfer_id}")
        if grant.status == "rotated":
            raise EdrError(401, "the token was replaced by a refresh; use the newest access token")
        if grant.status != "active":
            raise EdrError(403, f"the token was revoked: {grant.reason or 'the transfer ended'}")
        return claims

    def authorize(self, session: Session, token: str | None, now_ms: int) -> Authorized:
        """Everything a data request needs checked: token, transfer state, agreement in force."""
        claims = self.verify(session, token, now_ms)
        transfer, agreement = self.check_flow(session, claims, now_ms)
        return Authorized(claims, transfer, agreement)

    def check_flow(self, session: Session, claims: EdrClaims, now_ms: int) -> tuple[TransferProcess, Agreement]:
        from connector.services.usage import check_agreement_in_force

        transfer = session.get(TransferProcess, claims.transfer_id)
        if transfer is None or transfer.role != Role.PROVIDER.value or transfer.counterparty_id != claims.consumer_id:
            raise EdrError(403, f"no transfer {claims.transfer_id} of yours is known here")
        if transfer.agreement_id != claims.agreement_id:
            raise EdrError(403, f"the token names agreement {claims.agreement_id}, the transfer another")
        if transfer.state != "STARTED":
            detail = f": {transfer.error_detail}" if transfer.error_detail else ""
            raise EdrError(403, f"transfer {transfer.id} is {transfer.state}, not STARTED{detail}",
                           code="transfer_not_started")
        agreement = session.get(Agreement, transfer.agreement_id)
        if agreement is None:
            raise EdrError(403, f"agreement {transfer.agreement_id} is not known here", code="agreement_unknown")
        try:
            check_agreement_in_force(agreement, now_ms, (transfer.private_properties or {}).get("consumerClaims"))
        except ServiceError as exc:
            raise EdrError(403, "; ".join(exc.reasons), code="agreement_not_in_force", revoke=transfer.id) from exc
        return transfer, agreement

    # --- refresh and revocation --------------------------------------------------------------

    def sts_refresh(self, authorization: str | None, now_ms: int) -> tuple[str | None, str | None]:
        """(the access token, the DID its caller proved) of a refresh authorized by the consumer's
        self-issued token carrying the access token in its ``token`` claim; otherwise the header
        unchanged and None. Resolves the caller's DID: call it outside a transaction."""
        token = bare_token(authorization)
        try:
            raw = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return authorization, None
        inner, issuer = raw.get("token"), raw.get("iss")
        if self.callers is None or not isinstance(inner, str) or not isinstance(issuer, str) or \
                not issuer.startswith("did:"):
            return authorization, None  # our own access token (it has no token claim), or no way to check one
        try:
            return inner, self.callers(token, now_ms / 1000)
        except IdentityError as exc:
            raise EdrError(401, f"the refresh's identity token does not authenticate {issuer}: {exc.reason}",
                           code="invalid_client") from None

    def refresh(self, session: Session, authorization: str | None, refresh_token: str, now_ms: int,
                renew: Callable[[TransferProcess], tuple[str, int]] | None = None,
                caller: str | None = None) -> TokenPair:
        """Rotate a grant (in a write session): the refresh token is used up, a new pair issued.

        ``authorization`` is the access token issued with the refresh token; it may have expired
        (that is what refreshing is for) but must be ours and unaltered, or one an external IdP
        issued that we recorded (``grant_external``): ``renew`` asks that IdP for the next one.
        ``caller``: the DID an STS token proved (:meth:`sts_refresh`), which must be the consumer the
        access token was issued to.
        """
        raw: dict[str, Any] = {}
        try:
            raw = self._decode(session, authorization, [self.participant_id, self.broker_audience])
            claims = self._claims(raw)
        except EdrError as exc:
            recorded = session.get(EdrGrant, external_id(bare_token(authorization))) if authorization else None
            transfer = session.get(TransferProcess, recorded.transfer_id) if recorded is not None else None
            if recorded is None or transfer is None:
                raise EdrError(401, exc.reason, code="invalid_client") from exc
            claims = EdrClaims(transfer.id, transfer.agreement_id, transfer.counterparty_id, 0, recorded.id)
        if caller is not None and claims.consumer_id != caller:
            raise EdrError(401, f"the access token was issued to {claims.consumer_id}, not to {caller}",
                           code="invalid_client")
        grant = session.exec(select(EdrGrant).where(EdrGrant.refresh_hash == refresh_hash(refresh_token))
                             .with_for_update()).first()
        if grant is None or grant.transfer_id != claims.transfer_id:
            raise EdrError(400, "the refresh token is not known for this transfer", code="invalid_grant")
        if grant.id != claims.token_id:
            raise EdrError(400, "the refresh token was not issued with this access token", code="invalid_grant")
        if grant.status == "rotated":
            raise EdrError(400, "the refresh token was already used; it is good for one refresh",
                           code="invalid_grant")
        if grant.status != "active":
            raise EdrError(400, f"the refresh token was revoked: {grant.reason or 'the transfer ended'}",
                           code="invalid_grant")
        if grant.refresh_expires_at <= now_ms:
            raise EdrError(400, "the refresh token has expired; start a new transfer", code="invalid_grant")
        try:
            transfer, _ = self.check_flow(session, claims, now_ms)
        except EdrError as exc:
            raise EdrError(403, exc.reason, code="access_denied", revoke=claims.transfer_id) from exc
        # single use even under concurrency: only the request that flips the row wins
        won = _changed(session, update(EdrGrant).where(col(EdrGrant.id) == grant.id, col(EdrGrant.status) == "active")
                       .values(status="rotated", reason="refreshed"))
        if won != 1:
            raise EdrError(400, "the refresh token was already used; it is good for one refresh",
                           code="invalid_grant")
        if grant.id.startswith(EXTERNAL):
            if renew is None:
                raise EdrError(400, "the token's issuer cannot be asked for a new one here", code="invalid_grant")
            token, ttl = renew(transfer)
            return self.grant_external(session, transfer, now_ms, token, ttl)
        kept = {k: raw[k] for k in KEPT_CLAIMS if k in raw}
        return self.grant(session, transfer, now_ms, audience=raw.get("aud"), claims=kept)

    def revoke(self, session: Session, transfer_id: str, reason: str) -> int:
        """Make every live token and refresh token of a transfer useless, at once."""
        return _changed(session, update(EdrGrant).where(col(EdrGrant.transfer_id) == transfer_id,
                                                        col(EdrGrant.status) == "active")
                        .values(status="revoked", reason=reason))


def external_id(token: str) -> str:
    """The grant id of a token an external IdP issued: never the token itself, only its hash."""
    return EXTERNAL + hashlib.sha256(token.encode()).hexdigest()[:40]


def _changed(session: Session, statement: Update) -> int:
    """The rows an UPDATE changed (its result is a CursorResult, which the Session's signature does not say)."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


class ProviderDataFlows:
    """The transfer service's view of our data plane: issue EDRs, check agreements, revoke."""

    def __init__(self, issuer: EdrIssuer) -> None:
        self.issuer = issuer

    def start_address(self, session: Session, transfer: TransferProcess, now: int) -> DataAddress | None:
        return self.issuer.address(session, transfer, now)

    def check_transfer(self, session: Session, transfer: TransferProcess, agreement: Agreement, now: int) -> None:
        from connector.services.usage import check_agreement_in_force

        claims = (transfer.private_properties or {}).get("consumerClaims") or {}
        check_agreement_in_force(agreement, now, claims)

    def ended(self, session: Session, transfer: TransferProcess, now: int) -> None:
        """Revoke the transfer's grants; a resumed transfer gets a new EDR with its start message."""
        self.issuer.revoke(session, transfer.id, "the transfer was completed, suspended or terminated")
