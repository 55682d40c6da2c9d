"""What one negotiation and one transfer cost the database, both sides: a budget that must not grow.

Counted with SQLAlchemy event listeners over the whole exchange (the consumer's request until
every worker is idle), on SQLite, driven step by step as the two-connector tests are.

Before issue 12 (commit 403e7b7):  TBD
After:                              TBD
"""

from __future__ import annotations

from contextlib import ExitStack

from connector.protocol.messages import read_offer
from connector.store.models import Negotiation, TransferProcess
from tests.dsp.conftest import run, seed_offer, settle, world  # noqa: F401  (world: the fixture)
from tests.engine.sql_counter import counting


def _negotiate(world):  # type: ignore[no-untyped-def]
    from tests.dsp.test_negotiation_flow import _catalog

    provider, consumer = world["provider"], world["consumer"]
    seed_offer(provider.services)
    offer_json = dict(_catalog(world).json()["dataset"][0]["hasPolicy"][0], target="asset-1")
    offer = read_offer({"offer": offer_json})
    run(settle(consumer, provider))  # both senders listen: what is queued goes to them in memory
    with ExitStack() as stack:
        theirs = stack.enter_context(counting(provider.services.db.engine))
        ours = stack.enter_context(counting(consumer.services.db.engine))
        neg = consumer.services.negotiations.request(
            counterparty_address=provider.dsp, counterparty_id=provider.settings.participant_id, offer=offer)
        run(settle(consumer, provider))
    with consumer.services.db.read() as s:
        row = s.get(Negotiation, neg.id)
        assert row is not None and row.state == "FINALIZED", row
    return row, ours, theirs


def test_one_negotiation_stays_within_its_budget(world):  # noqa: F811
    _, consumer, provider = _negotiate(world)
    print(f"negotiation: consumer {consumer}; provider {provider}")
    print("\n".join(["C " + x for x in consumer.log] + ["P " + x for x in provider.log]))
    assert consumer.write_transactions <= 99 and provider.write_transactions <= 99
    assert consumer.statements + provider.statements <= 999


def test_one_transfer_stays_within_its_budget(world):  # noqa: F811
    neg, _, _ = _negotiate(world)
    provider, consumer = world["provider"], world["consumer"]
    with ExitStack() as stack:
        theirs = stack.enter_context(counting(provider.services.db.engine))
        ours = stack.enter_context(counting(consumer.services.db.engine))
        tp = consumer.services.transfers.request(agreement_id=neg.agreement_id, counterparty_address=provider.dsp)
        run(settle(consumer, provider))
    with consumer.services.db.read() as s:
        row = s.get(TransferProcess, tp.id)
        assert row is not None and row.state == "STARTED", row
    print(f"transfer: consumer {ours}; provider {theirs}")
    assert ours.write_transactions <= 99 and theirs.write_transactions <= 99
    assert ours.statements + theirs.statements <= 999


