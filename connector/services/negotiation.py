"""Contract negotiations in both roles: incoming DSP messages, staff commands, and send results.

Every incoming message is handled in one write transaction: the process is loaded under a row
lock, the transition table decides, the new state, the answer and any follow-up message are
stored, and only then does the edge acknowledge. A replayed message finds its stored answer.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlmodel import Session, select

from connector.identity import Participant
from connector.protocol import NegotiationMessage as M
from connector.protocol import NegotiationState as S
from connector.protocol import RemoteProtocolError, Role, next_state, receive, send
from connector.protocol.errors import LocalProtocolError
from connector.protocol.messages import (
    AgreementDoc,
    AgreementVerification,
    ContractAgreement,
    ContractOffer,
    ContractRequest,
    NegotiationEvent,
    NegotiationTermination,
    OfferRef,
    negotiation_ack,
)
from connector.protocol.retry import RetryPolicy
from connector.services import outbox
from connector.services.catalog import CatalogService
from connector.services.errors import Conflict, InvalidRequest, NotFound
from connector.services.playbook import Playbook
from connector.store import Database
from connector.store.models import Agreement, Negotiation, OutgoingMessage, ReceivedMessage

log = logging.getLogger("pontis.negotiation")

INITIAL = "INITIAL"  # a consumer's negotiation whose first request is not yet acknowledged

Message = ContractRequest | ContractOffer | ContractAgreement | AgreementVerification | NegotiationEvent | NegotiationTermination


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict | None


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def message_digest(caller_id: str, path: str, raw: bytes) -> str:
    return hashlib.sha256(caller_id.encode() + b"\0" + path.encode() + b"\0" + raw).hexdigest()


def _state(neg: Negotiation) -> S | None:
    return None if neg.state == INITIAL else S(neg.state)


def _signing_ms(timestamp: str | None, fallback: int) -> int:
    """The agreement's own DSP timestamp, so both sides record the same signing date."""
    if timestamp:
        try:
            return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            pass
    return fallback


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def ack(neg: Negotiation) -> dict:
    state = S.REQUESTED if neg.state == INITIAL else S(neg.state)
    return negotiation_ack(neg.provider_pid or "", neg.consumer_pid or "", state)


class NegotiationService:
    def __init__(
        self,
        db: Database,
        *,
        participant_id: str,
        callback_url: str,
        catalog: CatalogService,
        playbook: Playbook,
        clock: Callable[[], int],
        retry: RetryPolicy,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.participant_id = participant_id
        self.callback_url = callback_url
        self.catalog = catalog
        self.playbook = playbook
        self.clock = clock
        self.retry = retry
        self.wake = wake

    # --- incoming DSP messages -----------------------------------------------------------------

    def handle(self, caller: Participant, role: Role | None, pid: str | None, message: Message, digest: str) -> Answer:
        """Apply a peer's message to our process ``pid`` (None for an initial message).

        ``role`` None means "whichever role we play in that process": the consumer's callback
        and the provider's endpoints share paths such as ``/negotiations/:pid/events``.
        """
        now = self.clock()
        enqueued: list[OutgoingMessage] = []
        with self.db.write() as session:
            seen = session.get(ReceivedMessage, digest)
            if seen is not None:
                return Answer(seen.status_code, seen.response)
            if pid is None:
                neg, status = self._start_from_peer(session, caller, role, message, now, enqueued)
            else:
                neg, status = self._continue(session, caller, role, pid, message, now, enqueued)
            answer = Answer(status, ack(neg))
            session.add(ReceivedMessage(
                digest=digest, process_id=neg.id, status_code=status, response=answer.body, created_at=now
            ))
        if enqueued:
            self.wake()
        return answer

    def _start_from_peer(self, session, caller, role, message, now, enqueued):  # type: ignore[no-untyped-def]
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
            self._follow(session, neg, "received", M.CONTRACT_REQUEST, now, enqueued, counter=False)
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
        self._follow(session, neg, "received", M.CONTRACT_OFFER, now, enqueued)
        return neg, 201

    def _continue(self, session, caller, role, pid, message, now, enqueued):  # type: ignore[no-untyped-def]
        neg = session.get(Negotiation, pid, with_for_update=True)
        if neg is None or (role is not None and neg.role != role.value) or neg.counterparty_id != caller.id:
            raise NotFound("negotiation.unknown", f"no negotiation {pid} of yours is known here")
        role = Role(neg.role)
        self._check_pids(neg, role, message)
        kind = message.kind
        try:
            if neg.state == INITIAL:
                raise RemoteProtocolError(None, kind.value, "our request is not yet acknowledged")
            new = receive(role, _state(neg), kind)
        except RemoteProtocolError as exc:
            new = self._after_in_flight(session, neg, role, kind, message, exc)
        self._absorb(session, neg, message, now)
        neg.state = new.value
        neg.updated_at = now
        if new is S.TERMINATED:
            outbox.cancel_pending(session, neg.id, "the peer terminated the negotiation")
        session.add(neg)
        self._follow(session, neg, "received", kind, now, enqueued, counter=kind is M.CONTRACT_REQUEST)
        return neg, 200

    def _check_pids(self, neg: Negotiation, role: Role, message: Message) -> None:
        provider_pid = getattr(message, "provider_pid", None)
        consumer_pid = getattr(message, "consumer_pid", None)
        if role is Role.PROVIDER:
            if provider_pid != neg.provider_pid:
                raise InvalidRequest("providerPid", f"providerPid {provider_pid!r} does not match {neg.provider_pid!r}", path="providerPid")
            if consumer_pid != neg.consumer_pid:
                raise InvalidRequest("consumerPid", f"consumerPid {consumer_pid!r} does not match {neg.consumer_pid!r}", path="consumerPid")
        else:
            if consumer_pid != neg.consumer_pid:
                raise InvalidRequest("consumerPid", f"consumerPid {consumer_pid!r} does not match {neg.consumer_pid!r}", path="consumerPid")
            if neg.provider_pid is not None and provider_pid != neg.provider_pid:
                raise InvalidRequest("providerPid", f"providerPid {provider_pid!r} does not match {neg.provider_pid!r}", path="providerPid")

    def _after_in_flight(self, session, neg, role, kind, message, error):  # type: ignore[no-untyped-def]
        """A peer can answer our message before our sender has seen the peer's acknowledgement.

        If a message of ours is on its way and the peer's message fits the state that message
        leads to, the peer has evidently received it: apply it first, then the peer's.
        """
        pending = outbox.pending_for(session, neg.id)
        if pending and pending[0].lease_owner is not None:
            sent = M(pending[0].kind)
            after = next_state(_state(neg), sent, role)
            if after is not None:
                try:
                    new = receive(role, after, kind)
                except RemoteProtocolError:
                    raise error from None
                if sent is M.CONTRACT_REQUEST and neg.provider_pid is None:
                    neg.provider_pid = getattr(message, "provider_pid", None)
                self._record_sent(session, neg, pending[0], self.clock())
                pending[0].status = "done"
                session.add(pending[0])
                return new
        raise error

    def _absorb(self, session: Session, neg: Negotiation, message: Message, now: int) -> None:
        """Keep what a message carries: a new offer, an agreement, a termination's reason."""
        if isinstance(message, (ContractOffer, ContractRequest)):
            neg.offer = message.offer.to_json()
            neg.offer_id = message.offer.id
        elif isinstance(message, ContractAgreement):
            doc = message.agreement
            neg.agreement_id = doc.id
            if session.get(Agreement, doc.id) is None:
                session.add(Agreement(
                    id=doc.id, negotiation_id=neg.id, asset_id=doc.target, provider_id=doc.assigner,
                    consumer_id=doc.assignee, policy=doc.to_json(), signing_date=_signing_ms(doc.timestamp, now),
                    created_at=now,
                ))
        elif isinstance(message, NegotiationTermination):
            reasons = list(message.reason) or ["no reason given"]
            neg.error = {"by": "peer", "code": message.code, "reasons": reasons}
            neg.error_detail = f"terminated by {neg.counterparty_id}: " + "; ".join(reasons)

    # --- our own side --------------------------------------------------------------------------

    def _follow(self, session, neg, event, kind, now, enqueued, counter=False):  # type: ignore[no-untyped-def]
        role = Role(neg.role)
        action = self.playbook.next_action(role, event, kind, (neg.asset_id, neg.offer_id), counter=counter)
        if action is not None and next_state(_state(neg), action, role) is not None:
            message = self._enqueue(session, neg, action, now)
            message.next_attempt_at = now + self.playbook.delay_ms
            enqueued.append(message)

    def _enqueue(self, session: Session, neg: Negotiation, kind: M, now: int,
                 code: str | None = None, reasons: list[str] | None = None) -> OutgoingMessage:
        url, body = self._build(neg, kind, now, code, reasons)
        return outbox.enqueue(session, neg.id, kind.value, url, body, now)

    def _build(self, neg: Negotiation, kind: M, now: int, code: str | None, reasons: list[str] | None) -> tuple[str, dict]:
        pp, cp = neg.provider_pid or "", neg.consumer_pid or ""
        base = neg.counterparty_address
        offer = _offer_from(neg)
        if Role(neg.role) is Role.PROVIDER:
            if kind is M.CONTRACT_OFFER:
                return _join(base, f"negotiations/{cp}/offers"), ContractOffer(pp, offer, cp).to_json()
            if kind is M.AGREEMENT:
                stamp = datetime.fromtimestamp(now / 1000, timezone.utc).isoformat().replace("+00:00", "Z")
                doc = AgreementDoc(new_pid(), offer.policy, neg.asset_id or offer.target or "",
                                   self.participant_id, neg.counterparty_id, stamp)
                return _join(base, f"negotiations/{cp}/agreement"), ContractAgreement(pp, cp, doc).to_json()
            if kind is M.FINALIZED:
                return _join(base, f"negotiations/{cp}/events"), NegotiationEvent(pp, cp, "FINALIZED").to_json()
            if kind is M.TERMINATION:
                return _join(base, f"negotiations/{cp}/termination"), NegotiationTermination(pp, cp, code, reasons or []).to_json()
        else:
            if kind is M.CONTRACT_REQUEST:
                if neg.provider_pid is None:
                    msg = ContractRequest(cp, offer, None, self.callback_url)
                    return _join(base, "negotiations/request"), msg.to_json()
                return _join(base, f"negotiations/{pp}/request"), ContractRequest(cp, offer, pp).to_json()
            if kind is M.ACCEPTED:
                return _join(base, f"negotiations/{pp}/events"), NegotiationEvent(pp, cp, "ACCEPTED").to_json()
            if kind is M.VERIFICATION:
                return _join(base, f"negotiations/{pp}/agreement/verification"), AgreementVerification(pp, cp).to_json()
            if kind is M.TERMINATION:
                return _join(base, f"negotiations/{pp}/termination"), NegotiationTermination(pp, cp, code, reasons or []).to_json()
        raise LocalProtocolError(neg.state, kind.value, f"the {neg.role.lower()} does not send {kind.value}")

    def request(self, *, counterparty_address: str, counterparty_id: str, offer: OfferRef,
                callback_addresses: list | None = None) -> Negotiation:
        """Start a negotiation as consumer: store it and queue the ContractRequestMessage."""
        now = self.clock()
        pid = new_pid()
        if offer.policy.is_empty():
            raise InvalidRequest("offer.policy", "the offer has no permission or prohibition; copy it from the catalog",
                                 path="policy")
        neg = Negotiation(
            id=pid, role=Role.CONSUMER.value, state=INITIAL, consumer_pid=pid, counterparty_id=counterparty_id,
            counterparty_address=counterparty_address, offer_id=offer.id, asset_id=offer.target,
            offer=offer.to_json(), callback_addresses=callback_addresses or [], created_at=now, updated_at=now,
        )
        with self.db.write() as session:
            session.add(neg)
            self._enqueue(session, neg, M.CONTRACT_REQUEST, now)
        self.wake()
        return neg

    def terminate(self, negotiation_id: str, reason: str | None, code: str = "terminated-by-user") -> None:
        """Queue a termination that staff asked for; refuse if the process is already over."""
        now = self.clock()
        with self.db.write() as session:
            neg = session.get(Negotiation, negotiation_id, with_for_update=True)
            if neg is None:
                raise NotFound("negotiation.unknown", f"no negotiation {negotiation_id}")
            state = _state(neg)
            if neg.state == INITIAL:
                # nothing has reached the provider yet: stop here, and say why
                outbox.cancel_pending(session, neg.id, "terminated before it was sent")
                self._terminate_locally(neg, "local", code, [reason or "terminated by staff"], now)
                session.add(neg)
                return
            try:
                send(Role(neg.role), state, M.TERMINATION)
            except LocalProtocolError as exc:
                raise Conflict("negotiation.state", str(exc)) from exc
            outbox.cancel_pending(session, neg.id, "superseded by a termination")
            neg.error = {"by": "local", "code": code, "reasons": [reason or "terminated by staff"]}
            self._enqueue(session, neg, M.TERMINATION, now, code, [reason or "terminated by staff"])
            session.add(neg)
        self.wake()

    def get_for(self, caller: Participant, pid: str) -> dict:
        """The ContractNegotiation a peer may see: its own process with us, and only that."""
        with self.db.read() as session:
            neg = session.get(Negotiation, pid)
            if neg is None or neg.counterparty_id != caller.id:
                raise NotFound("negotiation.unknown", f"no negotiation {pid} of yours is known here")
            return ack(neg)

    @staticmethod
    def _terminate_locally(neg: Negotiation, by: str, code: str, reasons: list[str], now: int) -> None:
        neg.state = S.TERMINATED.value
        neg.error = {"by": by, "code": code, "reasons": reasons}
        neg.error_detail = "; ".join(reasons)
        neg.updated_at = now

    # --- results of sending --------------------------------------------------------------------

    def fits(self, session: Session, message: OutgoingMessage) -> bool:
        """Whether a queued message still fits its process; a stale one is cancelled, not sent."""
        neg = session.get(Negotiation, message.process_id)
        if neg is None:
            return False
        if next_state(_state(neg), M(message.kind), Role(neg.role)) is None:
            message.status = "cancelled"
            message.last_error = f"no longer fits state {neg.state}"
            session.add(message)
            return False
        return True

    def acknowledged(self, message_id: int, response: dict | None) -> None:
        """The peer acknowledged one of our messages: now, and only now, our state moves."""
        now = self.clock()
        enqueued: list[OutgoingMessage] = []
        with self.db.write() as session:
            out = session.get(OutgoingMessage, message_id)
            if out is None or out.status != "pending":
                return  # already applied (the peer's next message showed it arrived)
            neg = session.get(Negotiation, out.process_id, with_for_update=True)
            kind = M(out.kind)
            new = next_state(_state(neg), kind, Role(neg.role))
            if new is None:
                out.status, out.last_error = "cancelled", f"acknowledged, but no longer fits state {neg.state}"
                session.add(out)
                return
            counter = kind is M.CONTRACT_REQUEST and neg.provider_pid is not None
            if kind is M.CONTRACT_REQUEST and neg.provider_pid is None:
                provider_pid = (response or {}).get("providerPid")
                if not isinstance(provider_pid, str) or not provider_pid:
                    self._fail(session, neg, out, "the provider's answer had no providerPid", now)
                    return
                neg.provider_pid = provider_pid
            self._record_sent(session, neg, out, now)
            neg.state = new.value
            neg.updated_at = now
            out.status = "done"
            out.attempts += 1
            session.add(out)
            session.add(neg)
            if new is S.TERMINATED:
                outbox.cancel_pending(session, neg.id, "the negotiation was terminated")
            self._follow(session, neg, "sent", kind, now, enqueued, counter=counter)
        if enqueued:
            self.wake()

    def _record_sent(self, session: Session, neg: Negotiation, out: OutgoingMessage, now: int) -> None:
        if M(out.kind) is M.AGREEMENT:
            doc = out.body["agreement"]
            neg.agreement_id = doc["@id"]
            if session.get(Agreement, doc["@id"]) is None:
                session.add(Agreement(
                    id=doc["@id"], negotiation_id=neg.id, asset_id=doc["target"], provider_id=doc["assigner"],
                    consumer_id=doc["assignee"], policy=doc, signing_date=_signing_ms(doc.get("timestamp"), now),
                    created_at=now,
                ))

    def failed(self, message_id: int, error: str, *, permanent: bool, peer_reasons: list[str] | None = None,
               peer_status: int | None = None) -> None:
        """A send failed: retry later as stored data, or give up and say why."""
        now = self.clock()
        with self.db.write() as session:
            out = session.get(OutgoingMessage, message_id)
            if out is None or out.status != "pending":
                return
            out.attempts += 1
            out.last_error = error
            if not permanent:
                due = self.retry.next_attempt(out.attempts, datetime.fromtimestamp(now / 1000, timezone.utc))
                if due is not None:
                    out.next_attempt_at = int(due.timestamp() * 1000)
                    out.lease_owner, out.lease_until = None, 0
                    session.add(out)
                    return
                error = f"{error} (gave up after {out.attempts} attempts)"
            neg = session.get(Negotiation, out.process_id, with_for_update=True)
            if peer_reasons:
                who = neg.counterparty_id
                reasons = [f"{who} refused our {out.kind} ({error}): " + "; ".join(peer_reasons)]
            else:
                reasons = [f"{out.kind} to {out.url} failed: {error}"]
            self._fail(session, neg, out, reasons, now, tell_peer=permanent and peer_status not in (404, None))

    def _fail(self, session, neg, out, reasons, now, tell_peer=False):  # type: ignore[no-untyped-def]
        reasons = [reasons] if isinstance(reasons, str) else reasons
        out.status = "failed"
        session.add(out)
        outbox.cancel_pending(session, neg.id, "an earlier message failed")
        kind = M(out.kind)
        if tell_peer and kind is not M.TERMINATION and neg.state != INITIAL and \
                next_state(_state(neg), M.TERMINATION, Role(neg.role)) is not None:
            # the peer refused our message, so our states may differ: DSP says terminate
            neg.error = {"by": "local", "code": "peer-refused", "reasons": reasons}
            neg.error_detail = "; ".join(reasons)
            self._enqueue(session, neg, M.TERMINATION, now, "peer-refused", reasons[:3])
        else:
            self._terminate_locally(neg, "local", "send-failed", reasons, now)
        session.add(neg)
        log.warning("negotiation %s: %s", neg.id, "; ".join(reasons))


def _offer_from(neg: Negotiation) -> OfferRef:
    from connector.protocol.messages import read_offer

    ref = read_offer({"offer": neg.offer})
    return OfferRef(ref.id, ref.policy, ref.target or neg.asset_id, ref.assigner)
