"""Contract negotiations in both roles: what their messages carry, and what each side sends next.

The durable machinery (one transaction per incoming message, stored answers, the outbox, the
in-flight rule) is ``process.ProcessService``'s; this module knows offers and agreements.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from connector.identity.dataintegrity import SigningError
from connector.policy import decision_to_dict, dsp_error
from connector.protocol import NegotiationMessage as M
from connector.protocol import NegotiationState as S
from connector.protocol import Role, receive
from connector.protocol.errors import LocalProtocolError
from connector.protocol.messages import (
    AGREEMENT_PROOF,
    AgreementDoc,
    AgreementVerification,
    ContractAgreement,
    ContractOffer,
    ContractRequest,
    NegotiationEvent,
    NegotiationTermination,
    OfferRef,
    negotiation_ack,
    read_offer,
)
from connector.protocol.retry import RetryPolicy
from connector.protocol.step import NEGOTIATION, Effect, StoreAgreement
from connector.services import agreements
from connector.services.accepted import check_acceptable
from connector.services.catalog import CatalogService
from connector.services.errors import InvalidRequest
from connector.services.groups import groups_of
from connector.services.outbox import Dispatch
from connector.services.playbook import Playbook
from connector.services.process import (  # noqa: F401  (Answer, message_digest: the edges' names)
    INITIAL,
    Answer,
    ProcessService,
    Work,
    join_url,
    message_digest,
    new_pid,
)
from connector.store import Database
from connector.store.models import Agreement, Negotiation, OutgoingMessage, SignedOffer

log = logging.getLogger("pontis.negotiation")

def ack(neg: Negotiation) -> dict[str, Any]:
    state = S.REQUESTED if neg.state == INITIAL else S(neg.state)
    return negotiation_ack(neg.provider_pid or "", neg.consumer_pid or "", state)


def _signing_ms(timestamp: str | None, fallback: int) -> int:
    """The agreement's own DSP timestamp, so both sides record the same signing date."""
    if timestamp:
        try:
            return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            pass
    return fallback


def _offer_from(neg: Negotiation) -> OfferRef:
    """The stored offer, parsed once: each outgoing message of a negotiation needs it."""
    ref = _parsed_offer(json.dumps(neg.offer, sort_keys=True))
    return OfferRef(ref.id, ref.policy, ref.target or neg.asset_id, ref.assigner)


@functools.lru_cache(maxsize=1024)
def _parsed_offer(stored: str) -> OfferRef:
    # keyed by the offer's text: a changed offer is parsed anew, on every replica
    return read_offer({"offer": json.loads(stored)})


_AGREEMENT_ID = sa_select(Agreement.id).where(Agreement.id == bindparam("id"))  # type: ignore[call-overload]


def _agreement_stored(session: Session, agreement_id: str) -> bool:
    """``session.get(Agreement, id) is not None`` without loading the row or flushing the session:
    the session's own (loaded or new) rows, else one Core look-up built once."""
    if session.identity_map.get(identity_key(Agreement, agreement_id)) is not None:
        return True
    if any(isinstance(obj, Agreement) and obj.id == agreement_id for obj in session.new):
        return True
    return session.connection().execute(_AGREEMENT_ID, {"id": agreement_id}).first() is not None


class NegotiationService(ProcessService):
    machine = NEGOTIATION
    model = Negotiation

    def __init__(self, db: Database, *, participant_id: str, callback_url: str, catalog: CatalogService,
                 playbook: Playbook, clock: Callable[[], int], retry: RetryPolicy,
                 dispatch: Dispatch | None = None, identity: Any = None,
                 require_signed_agreements: bool = False, unresolvable_signers_ok: bool = False) -> None:
        super().__init__(db, participant_id=participant_id, callback_url=callback_url, playbook=playbook,
                         clock=clock, retry=retry, dispatch=dispatch)
        self.catalog = catalog
        # our DID and keys (connector.identity.wallet.LocalIdentity): with them agreements are signed
        self.identity = identity
        self.require_signed_agreements = require_signed_agreements
        # static-token mode: a signer whose DID cannot be resolved is accepted unchecked (agreements.check)
        self.unresolvable_signers_ok = unresolvable_signers_ok and not require_signed_agreements

    def _ack(self, row: Negotiation) -> dict[str, Any]:
        return ack(row)

    def _playbook_keys(self, row: Negotiation) -> tuple[str | None, ...]:
        return (row.asset_id, row.offer_id)

    def _is_counter(self, kind: M) -> bool:
        return kind is M.CONTRACT_REQUEST

    # --- a peer starts a negotiation -----------------------------------------------------------

    def _start_from_peer(self, session, caller, role, message, work):
        now = work.now
        if role is Role.PROVIDER:
            assert isinstance(message, ContractRequest)
            existing = session.exec(select(Negotiation).where(
                Negotiation.role == Role.PROVIDER.value,
                Negotiation.counterparty_id == caller.id,
                Negotiation.consumer_pid == message.consumer_pid,
            )).first()
            if existing is not None:  # a repeated initial request creates no second process
                return existing, 201
            resolved = self.catalog.resolve(session, message.offer)
            groups = groups_of(session, caller.bpn)
            gate = self.catalog.gate
            gate.remember(caller.id, caller.claims)
            if resolved.access_policy is not None:
                access = gate.decide(resolved.access_policy, caller.claims, groups, "catalog", now)
                if not access.allowed:
                    # an offer the caller may not see does not exist for it; our admin learns why
                    log.info("negotiation request from %s for hidden offer %s refused: %s", caller.id,
                             message.offer.id, "; ".join(d.text for d in access.denials))
                    raise InvalidRequest("offer.unknown", f"offer {message.offer.id!r} is not offered here",
                                         path="offer.@id")
            decision = gate.decide(resolved.policy, caller.claims, groups, "contract.negotiation", now)
            receive(Role.PROVIDER, None, M.CONTRACT_REQUEST)
            pid = new_pid()
            offer = OfferRef(message.offer.id, resolved.policy, resolved.asset_id, self.participant_id)
            neg = Negotiation(
                id=pid, role=Role.PROVIDER.value, state=S.REQUESTED.value, provider_pid=pid,
                consumer_pid=message.consumer_pid, counterparty_id=caller.id,
                counterparty_address=message.callback_address or "", offer_id=message.offer.id,
                asset_id=resolved.asset_id, contract_definition_id=resolved.contract_definition_id,
                offer=offer.to_json(), created_at=now, updated_at=now,
            )
            session.add(neg)
            if decision.allowed:
                self.follow(session, neg, M.CONTRACT_REQUEST, work)
            else:
                # the requester saw these constraints in the offer: tell it exactly which failed
                code, reasons = dsp_error(decision)
                neg.error = {"by": "local", "code": code, "reasons": reasons,
                             "denials": decision_to_dict(decision).get("denials", [])}
                neg.error_detail = "; ".join(reasons)
                work.queued.append(self.enqueue(session, neg, M.TERMINATION, now, code, reasons))
                log.info("negotiation %s with %s denied: %s", pid, caller.id, neg.error_detail)
            return neg, 201
        assert isinstance(message, ContractOffer)
        existing = session.exec(select(Negotiation).where(
            Negotiation.role == Role.CONSUMER.value,
            Negotiation.counterparty_id == caller.id,
            Negotiation.provider_pid == message.provider_pid,
        )).first()
        if existing is not None:
            return existing, 201
        receive(Role.CONSUMER, None, M.CONTRACT_OFFER)
        pid = new_pid()
        neg = Negotiation(
            id=pid, role=Role.CONSUMER.value, state=S.OFFERED.value, provider_pid=message.provider_pid,
            consumer_pid=pid, counterparty_id=caller.id, counterparty_address=message.callback_address or "",
            offer_id=message.offer.id, asset_id=message.offer.target, offer=message.offer.to_json(),
            created_at=now, updated_at=now,
        )
        session.add(neg)
        refusal = self._refusal(session, neg, message)
        if refusal is not None:
            code = refusal[0]
            neg.error = {"by": "local", "code": code, "reasons": list(refusal[1])}
            neg.error_detail = refusal[1][0]
            work.queued.append(self.enqueue(session, neg, M.TERMINATION, now, code, list(refusal[1])))
        else:
            self.follow(session, neg, M.CONTRACT_OFFER, work)
        return neg, 201

    def _absorb(self, session: Session, neg: Negotiation, message, now: int) -> None:
        """Keep what a message carries: a new offer, an agreement, a termination's reason."""
        if isinstance(message, (ContractOffer, ContractRequest)):
            neg.offer = message.offer.to_json()
            neg.offer_id = message.offer.id
        elif isinstance(message, ContractAgreement):
            doc = message.agreement
            node = doc.to_json()
            self._check_provider_signature(node)
            neg.agreement_id = doc.id
        elif isinstance(message, AgreementVerification) and message.agreement_proof is not None:
            self._take_consumer_signature(session, neg, message.agreement_proof)
        elif isinstance(message, NegotiationTermination):
            reasons = list(message.reason) or ["no reason given"]
            neg.error = {"by": "peer", "code": message.code, "reasons": reasons}
            neg.error_detail = f"terminated by {neg.counterparty_id}: " + "; ".join(reasons)

    def _check_provider_signature(self, node: dict[str, Any]) -> None:
        """Consumer: a signed agreement must verify; an unsigned one only if we do not insist."""
        if node.get("proof") is None:
            if self.require_signed_agreements:
                raise InvalidRequest("agreement.proof", "the agreement is not signed; this connector accepts "
                                     "only agreements signed by the provider", path="agreement.proof")
            return
        if self.identity is not None:
            reason = agreements.check(self.identity, node, unresolvable_ok=self.unresolvable_signers_ok)
            if reason is not None:
                raise InvalidRequest("agreement.proof", f"the agreement's signature does not verify: {reason}",
                                     path="agreement.proof")

    def _take_consumer_signature(self, session: Session, neg: Negotiation, proof: dict[str, Any]) -> None:
        """Provider: keep the consumer's counter-signature once it verifies (a proof set)."""
        row = session.get(Agreement, neg.agreement_id) if neg.agreement_id else None
        if row is None or self.identity is None:
            return
        updated = agreements.with_consumer_proof(row.policy, proof)
        reason = agreements.check(self.identity, updated, require_consumer=True,
                                  unresolvable_ok=self.unresolvable_signers_ok)
        if reason is not None:
            raise InvalidRequest("agreement.proof", f"the counter-signature does not verify: {reason}",
                                 path=AGREEMENT_PROOF)
        row.policy = updated
        session.add(row)

    def _domain_effect(self, session: Session, neg: Negotiation, effect: Effect, message: Any,
                       out: OutgoingMessage | None, now: int) -> None:
        if not isinstance(effect, StoreAgreement):
            return
        if isinstance(message, ContractAgreement):  # the consumer received it (checked in _absorb)
            doc = message.agreement.to_json()
        elif out is not None and out.kind == M.AGREEMENT.value:  # the provider's was acknowledged
            doc = out.body["agreement"]
        else:
            return
        neg.agreement_id = doc["@id"]
        if not _agreement_stored(session, doc["@id"]):
            session.add(Agreement(
                id=doc["@id"], negotiation_id=neg.id, asset_id=doc["target"], provider_id=doc["assigner"],
                consumer_id=doc["assignee"], policy=doc, signing_date=_signing_ms(doc.get("timestamp"), now),
                created_at=now,
            ))

    def _refusal(self, session: Session, neg: Negotiation, message: Any) -> tuple[str, tuple[str, ...]] | None:
        """Consumer: a provider's (counter-)offer is accepted only if it fits what we accept."""
        if neg.role != Role.CONSUMER.value or not isinstance(message, ContractOffer):
            return None
        reason = check_acceptable(session, message.offer.policy)
        if reason is None:
            return None
        return "offer-not-acceptable", (f"the offer is not within the policies this company accepts: {reason}",)

    # --- what we send --------------------------------------------------------------------------

    def _build(self, session: Session, neg: Negotiation, kind: M, now: int, code: str | None, reasons: list[str] | None) -> tuple[str, dict[str, Any]]:
        pp, cp = neg.provider_pid or "", neg.consumer_pid or ""
        base = neg.counterparty_address
        offer = _offer_from(neg)
        if Role(neg.role) is Role.PROVIDER:
            if kind is M.CONTRACT_OFFER:
                return join_url(base, f"negotiations/{cp}/offers"), ContractOffer(pp, offer, cp).to_json()
            if kind is M.AGREEMENT:
                stamp = datetime.fromtimestamp(now / 1000, UTC).isoformat().replace("+00:00", "Z")
                doc = AgreementDoc(new_pid(), offer.policy, neg.asset_id or offer.target or "",
                                   self.participant_id, neg.counterparty_id, stamp)
                body = ContractAgreement(pp, cp, doc).to_json()
                if self.identity is not None:  # the provider signs what it agrees to
                    body["agreement"] = agreements.provider_sign(self.identity, body["agreement"])
                return join_url(base, f"negotiations/{cp}/agreement"), body
            if kind is M.FINALIZED:
                return join_url(base, f"negotiations/{cp}/events"), NegotiationEvent(pp, cp, "FINALIZED").to_json()
            if kind is M.TERMINATION:
                body = NegotiationTermination(pp, cp, code, reasons or []).to_json()
                return join_url(base, f"negotiations/{cp}/termination"), body
        else:
            if kind is M.CONTRACT_REQUEST:
                if neg.provider_pid is None:
                    msg = ContractRequest(cp, offer, None, self.callback_url)
                    return join_url(base, "negotiations/request"), msg.to_json()
                return join_url(base, f"negotiations/{pp}/request"), ContractRequest(cp, offer, pp).to_json()
            if kind is M.ACCEPTED:
                return join_url(base, f"negotiations/{pp}/events"), NegotiationEvent(pp, cp, "ACCEPTED").to_json()
            if kind is M.VERIFICATION:
                proof = self._countersign(session, neg)
                return (join_url(base, f"negotiations/{pp}/agreement/verification"),
                        AgreementVerification(pp, cp, proof).to_json())
            if kind is M.TERMINATION:
                body = NegotiationTermination(pp, cp, code, reasons or []).to_json()
                return join_url(base, f"negotiations/{pp}/termination"), body
        raise LocalProtocolError(neg.state, kind.value, f"the {neg.role.lower()} does not send {kind.value}")

    def enqueue(self, session: Session, row: Negotiation, kind: M, now: int,
                code: str | None = None, reasons: list[str] | None = None, *, delay_ms: int = 0) -> OutgoingMessage:
        try:
            return super().enqueue(session, row, kind, now, code, reasons, delay_ms=delay_ms)
        except SigningError as exc:
            if kind is not M.AGREEMENT:
                raise
            # we will not send an agreement we cannot sign; end the negotiation and say why
            reasons = [f"the provider could not sign the agreement: {exc}"]
            row.error = {"by": "local", "code": "agreement-unsignable", "reasons": reasons}
            row.error_detail = reasons[0]
            log.error("negotiation %s: %s", row.id, reasons[0])
            return super().enqueue(session, row, M.TERMINATION, now, "agreement-unsignable", reasons, delay_ms=delay_ms)

    def _countersign(self, session: Session, neg: Negotiation) -> dict[str, Any] | None:
        """Consumer: add our proof to a provider-signed agreement; the verification carries it."""
        row = session.get(Agreement, neg.agreement_id) if neg.agreement_id else None
        if self.identity is None or row is None or row.policy.get("proof") is None:
            return None
        if isinstance(row.policy["proof"], list) and len(row.policy["proof"]) > 1:
            last: dict[str, Any] = row.policy["proof"][-1]
            return last  # signed already (a resent verification)
        proof, updated = agreements.consumer_countersign(self.identity, row.policy)
        row.policy = updated
        session.add(row)
        return proof

    # --- staff commands ------------------------------------------------------------------------

    def request(self, *, counterparty_address: str, counterparty_id: str, offer: OfferRef,
                callback_addresses: list[Any] | None = None, signed_offer: dict[str, Any] | None = None) -> Negotiation:
        """Start a negotiation as consumer: store it and queue the ContractRequestMessage.
        ``signed_offer``: the provider-signed offer, verified (services.signed_offers), kept with it."""
        if offer.policy.is_empty():
            raise InvalidRequest("offer.policy", "the offer has no permission or prohibition; copy it from the catalog",
                                 path="policy")
        now = self.clock()
        pid = new_pid()
        neg = Negotiation(
            id=pid, role=Role.CONSUMER.value, state=INITIAL, consumer_pid=pid, counterparty_id=counterparty_id,
            counterparty_address=counterparty_address, offer_id=offer.id, asset_id=offer.target,
            offer=offer.to_json(), callback_addresses=callback_addresses or [], created_at=now, updated_at=now,
        )
        with self.db.write() as session:
            reason = check_acceptable(session, offer.policy)
            if reason is not None:
                raise InvalidRequest("offer.not-acceptable",
                                     f"the offer is not within the policies this company accepts: {reason}",
                                     path="policy")
            session.add(neg)
            if signed_offer is not None:
                session.add(SignedOffer(negotiation_id=pid, offer_id=offer.id, provider_id=counterparty_id,
                                        document=signed_offer, created_at=now))
            first = self.enqueue(session, neg, M.CONTRACT_REQUEST, now)
        self.dispatch.hand_over([first], now)
        return neg

    def terminate(self, negotiation_id: str, reason: str | None, code: str = "terminated-by-user") -> None:
        """Queue a termination that staff asked for; refuse if the negotiation is already over."""
        self.command(negotiation_id, M.TERMINATION, code=code, reasons=[reason or "terminated by staff"])
