"""NegotiationService.handle against the store: a replayed message gets the stored answer."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from connector.identity import Participant
from connector.policy import Policy, Rule
from connector.policy.vocabulary import odrl
from connector.protocol import Role
from connector.protocol.messages import ContractOffer, OfferRef
from connector.protocol.retry import RetryPolicy
from connector.services.catalog import CatalogService
from connector.services.negotiation import NegotiationService, message_digest
from connector.services.playbook import Playbook
from connector.store import Database
from connector.store.models import Negotiation, OutgoingMessage, ReceivedMessage

T0 = 1_790_000_000_000
PROVIDER = Participant("did:web:provider.example")


def service(db: Database, clock) -> NegotiationService:  # type: ignore[no-untyped-def]
    us = "https://consumer.example/api/dsp/2025-1"
    return NegotiationService(
        db, participant_id="did:web:consumer.example", callback_url=us,
        catalog=CatalogService(db, "did:web:consumer.example", us), playbook=Playbook(),
        clock=clock, retry=RetryPolicy(),
    )


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as session:
        return tuple(session.exec(select(func.count()).select_from(m)).one()
                     for m in (Negotiation, OutgoingMessage, ReceivedMessage))  # type: ignore[return-value]


def test_a_replayed_initial_offer_gets_the_stored_answer_and_changes_nothing(db: Database) -> None:
    now = [T0]
    negotiations = service(db, lambda: now[0])
    offer = OfferRef("offer-1", Policy(permissions=(Rule(odrl("use")),)), "asset-1", PROVIDER.id)
    message = ContractOffer("urn:uuid:provider-1", offer, None, "https://provider.example/cb")
    digest = message_digest(PROVIDER.id, "/negotiations/offers", b'{"the": "raw body"}')

    first = negotiations.handle(PROVIDER, Role.CONSUMER, None, message, digest)
    assert first.status == 201
    assert first.body["providerPid"] == "urn:uuid:provider-1"
    assert first.body["state"] == "OFFERED"
    # one process, the consumer's automatic ACCEPTED queued, the answer stored
    assert counts(db) == (1, 1, 1)
    with db.read() as session:
        neg = session.exec(select(Negotiation)).one()
        assert (neg.role, neg.state, neg.consumer_pid, neg.updated_at) == ("CONSUMER", "OFFERED", first.body["consumerPid"], T0)
        stored = session.get(ReceivedMessage, digest)
        assert (stored.process_id, stored.status_code, stored.response) == (neg.id, 201, first.body)

    now[0] = T0 + 60_000
    again = negotiations.handle(PROVIDER, Role.CONSUMER, None, message, digest)
    assert again == first
    assert counts(db) == (1, 1, 1)
    with db.read() as session:
        assert session.exec(select(Negotiation)).one().updated_at == T0

    # the same offer in a different envelope (another digest) names the same process
    other = negotiations.handle(PROVIDER, Role.CONSUMER, None, message, digest[::-1])
    assert other.body["consumerPid"] == first.body["consumerPid"]
    assert counts(db) == (1, 1, 2)
