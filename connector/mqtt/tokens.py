"""Who may use our broker under a DSP transfer (Factory-X ADR 012): the ``Authenticator`` that reads
the EDRs this connector issued (``services.dataflow.mqtt``).

At CONNECT a client presents either

- the EDR's ``dsp-mqtt:authorization`` JWT as the password (any user name): it must be signed by our
  EDR key for the broker's audience (``EdrIssuer.broker_audience``, so a data-plane token does not
  open the broker), unexpired, of a grant still active (not refreshed away, not revoked), and its
  transfer must still be STARTED under an agreement in force. The grant covers the token's
  ``topic`` (the asset's ``dsp-mqtt:topic``) or, without one, every topic; it ends when the
  token expires (the client reconnects with a refreshed one);
- or (``mqtt-usrpw``) the user name and password provisioned for its transfer, checked against
  the stored hash, under the same transfer and agreement checks; the grant lasts one EDR lifetime
  (``edr_ttl_seconds``), after which the client connects again and is checked again.

Everything else is refused with the reason (logged by the broker; the client gets CONNACK 5).
Each grant names its transfer: when the transfer leaves STARTED or its agreement stops being in
force, ``recheck`` says why (and revokes the transfer's tokens and users), and the broker cuts the
transfer's clients off (``connector.mqtt.cutoff``). The checks read the database: the broker runs
them in worker threads (``blocking``).
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from connector.mqtt.access import Grant, Refused
from connector.protocol import Role
from connector.services.dataflow.mqtt import USER_GRANT, field
from connector.services.edr_tokens import EdrClaims, EdrError, EdrIssuer, refresh_hash
from connector.store import Database
from connector.store.models import Asset, EdrGrant, TransferProcess

log = logging.getLogger("pontis.mqtt")


def _when(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TransferAccess:
    """The broker's ``Authenticator`` for ``[mqtt] auth = "token"``: DSP transfers' JWTs and users."""

    blocking = True  # it reads the database: the broker runs it in a worker thread

    def __init__(self, db: Database, issuer: EdrIssuer) -> None:
        self.db = db
        self.issuer = issuer

    def authenticate(self, client_id: str, username: str | None, password: bytes | None, now: int) -> Grant:
        if not password:
            raise Refused("no password: send the EDR's dsp-mqtt:authorization (a JWT), or the transfer's "
                          "user and password")
        try:
            secret = password.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused("the password is not UTF-8: neither a JWT nor a password this connector issued") from None
        with self.db.read() as session:
            user = session.get(EdrGrant, USER_GRANT + username) if username else None
            if user is not None:
                return self._user(session, user, secret, now * 1000)
            return self._token(session, secret, now)

    def _token(self, session: Session, token: str, now: int) -> Grant:
        if token.count(".") != 2:
            raise Refused("wrong user name or password: neither a transfer's user nor a JWT this connector issued")
        try:
            raw = self.issuer.decode(session, token, self.issuer.broker_audience)
            exp = int(raw["exp"])
            if exp <= now:
                raise Refused(f"token expired at {_when(exp)}: refresh the EDR at its dsp-mqtt:refreshEndpoint")
            claims = self.issuer.verify(session, token, now * 1000, audience=self.issuer.broker_audience)
            self.issuer.check_flow(session, claims, now * 1000)
        except EdrError as exc:
            raise Refused(exc.reason) from None
        topic = raw.get("topic")
        return Grant(subject=claims.consumer_id, topics=(topic,) if isinstance(topic, str) and topic else None,
                     expires_at=exp, transfer=claims.transfer_id)

    def _user(self, session: Session, user: EdrGrant, password: str, now_ms: int) -> Grant:
        name = user.id[len(USER_GRANT):]
        if not hmac.compare_digest(refresh_hash(password), user.refresh_hash):
            raise Refused(f"wrong password for user {name!r}")
        if user.status != "active":
            raise Refused(f"user {name!r} was revoked: {user.reason or 'its transfer ended'}")
        transfer = session.get(TransferProcess, user.transfer_id)
        if transfer is None:
            raise Refused(f"user {name!r} belongs to no transfer known here")
        claims = EdrClaims(transfer.id, transfer.agreement_id, transfer.counterparty_id, 0, user.id)
        try:
            self.issuer.check_flow(session, claims, now_ms)
        except EdrError as exc:
            raise Refused(exc.reason) from None
        asset = session.get(Asset, transfer.asset_id)
        topic = field(asset.data_address or {}, "topic") if asset is not None else None
        # re-checked at the next CONNECT, and cut off when the transfer ends (connector.mqtt.cutoff)
        return Grant(subject=transfer.counterparty_id, topics=(topic,) if isinstance(topic, str) else None,
                     expires_at=now_ms // 1000 + self.issuer.ttl_seconds, transfer=transfer.id)

    def recheck(self, transfer_id: str, now: int) -> str | None:
        """Why the clients of our transfer ``transfer_id`` may no longer be served (it left STARTED, its
        agreement is no longer in force), its tokens and users then revoked; None while it may."""
        with self.db.read() as session:
            transfer = session.get(TransferProcess, transfer_id)
            if transfer is None or transfer.role != Role.PROVIDER.value:
                return None  # a consumer's transfer: no client of our broker holds it
            claims = EdrClaims(transfer.id, transfer.agreement_id, transfer.counterparty_id, 0, "")
            try:
                self.issuer.check_flow(session, claims, now * 1000)
                return None
            except EdrError as exc:
                reason = exc.reason
        with self.db.write() as session:
            revoked = self.issuer.revoke(session, transfer_id, reason)
        if revoked:
            log.warning("mqtt: revoked %d tokens and users of transfer %s: %s", revoked, transfer_id, reason)
        return reason


def transfer_access(services: Any) -> TransferAccess:
    """The authenticator for a built container (``services.db``, ``services.edrs``)."""
    return TransferAccess(services.db, services.edrs)
