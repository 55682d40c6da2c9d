"""Endpoint Data References: the short-lived tokens a pull consumer presents to our data plane.

An EDR token is a JWT signed with Ed25519 by a key every replica shares (stored in the
database), scoped to one transfer process and its agreement. The data plane checks the
signature, the expiry, and then the transfer and agreement themselves on every request, so
suspending or terminating a transfer revokes its tokens at once without a revocation list.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlmodel import Session

from connector.protocol.transfer_messages import DataAddress
from connector.store.models import Agreement, ConnectorSecret, TransferProcess

HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"
KEY_NAME = "edr-signing-key"


class EdrError(Exception):
    """A token that grants nothing; ``status`` is 401 (no or bad token) or 403 (not for this)."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class EdrClaims:
    transfer_id: str
    agreement_id: str
    consumer_id: str
    expires_at: int
    token_id: str


class EdrIssuer:
    def __init__(self, participant_id: str, public_url: str, ttl_seconds: int = 300) -> None:
        self.participant_id = participant_id
        self.endpoint = public_url.rstrip("/") + "/api/public"
        self.ttl_seconds = ttl_seconds
        self._key: Ed25519PrivateKey | None = None

    def key(self, session: Session) -> Ed25519PrivateKey:
        """The shared signing key, created by whichever replica needs it first."""
        if self._key is None:
            row = session.get(ConnectorSecret, KEY_NAME)
            if row is None:
                seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
                row = ConnectorSecret(name=KEY_NAME, value={"seed": base64.b64encode(seed).decode()})
                session.add(row)
                session.flush()
            self._key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(row.value["seed"]))
        return self._key

    def public_key(self, session: Session) -> Ed25519PublicKey:
        return self.key(session).public_key()

    def issue(self, session: Session, transfer: TransferProcess, now_ms: int) -> tuple[str, int]:
        expires = now_ms // 1000 + self.ttl_seconds
        claims = {
            "iss": self.participant_id, "aud": self.participant_id, "sub": transfer.counterparty_id,
            "iat": now_ms // 1000, "exp": expires, "jti": str(uuid.uuid4()),
            "tp": transfer.id, "agreement": transfer.agreement_id,
        }
        return jwt.encode(claims, self.key(session), algorithm="EdDSA"), expires

    def address(self, session: Session, transfer: TransferProcess, now_ms: int) -> DataAddress:
        token, _ = self.issue(session, transfer, now_ms)
        return DataAddress(HTTP_ENDPOINT_TYPE, self.endpoint, (
            ("authorization", token), ("authType", "bearer"), ("expiresIn", str(self.ttl_seconds)),
        ))

    def verify(self, session: Session, token: str | None, now_ms: int) -> EdrClaims:
        """The claims of a valid token, or EdrError saying exactly why it is not valid."""
        if not token:
            raise EdrError(401, "no token: send the EDR's authorization value in the Authorization header")
        token = token.removeprefix("Bearer ").removeprefix("bearer ").strip()
        try:
            claims = jwt.decode(token, self.public_key(session), algorithms=["EdDSA"], audience=self.participant_id,
                                issuer=self.participant_id, options={"verify_exp": False, "require": ["exp", "tp"]})
        except jwt.PyJWTError as exc:
            raise EdrError(401, f"the token is not one this connector issued: {exc}") from exc
        if claims["exp"] * 1000 <= now_ms:
            raise EdrError(401, "the token has expired; refresh the EDR")
        return EdrClaims(claims["tp"], claims.get("agreement", ""), claims.get("sub", ""), claims["exp"],
                         claims.get("jti", ""))


class ProviderDataFlows:
    """The transfer service's view of our data plane: issue EDRs and check agreements."""

    def __init__(self, issuer: EdrIssuer) -> None:
        self.issuer = issuer

    def start_address(self, session: Session, transfer: TransferProcess, now: int) -> DataAddress | None:
        return self.issuer.address(session, transfer, now)

    def check_transfer(self, session: Session, transfer: TransferProcess, agreement: Agreement, now: int) -> None:
        from connector.services.usage import check_agreement_in_force

        claims = (transfer.private_properties or {}).get("consumerClaims") or {}
        check_agreement_in_force(agreement, now, claims)

    def ended(self, session: Session, transfer: TransferProcess, now: int) -> None:
        """Nothing to revoke by hand: the data plane checks the transfer's state on every request."""
