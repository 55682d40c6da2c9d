"""What one negotiation and one transfer cost the database, both sides: a budget that must not grow.

Counted with SQLAlchemy event listeners over the whole exchange (the consumer's request until
every worker is idle), on SQLite, driven step by step as the two-connector tests are. A write
transaction is one that took the write lock or changed a row; statements exclude BEGIN/COMMIT/
SAVEPOINT. The statements include the harness's idle look-ups (``settle`` asks each worker once
more after the last message: one read each).

                               consumer            provider
                               write tx  stmts     write tx  stmts
one negotiation, before (403e7b7)   8      34          7      34
one negotiation, after              5      29          4      29
one transfer (to STARTED), before   5      16          4      19
one transfer (to STARTED), after    3      15          2      18
with the audit log (issue 14)       5      31          4      31   (negotiation)
                                    3      16          2      19   (transfer)

What went: the claim transaction of every message queued on this node (it is stored leased to
this node's sender and handed over in memory), the claim transaction an idle worker took to find
nothing (it reads first), and a second UPDATE of the acknowledged message. Under concurrency the
write transactions of different processes also share commits (group commit), which this
one-at-a-time count does not show. The audit log (issue 14) adds two statements per entry, in
the transaction of the change it records: the chain's head is read, the entry inserted. The
provider reads the agreement's asset once when a transfer is requested (Factory-X ADR 012: an MQTT
stream is offered as ``Mqtt-PULL`` only, anything else never as ``Mqtt-PULL``), so its transfer
budget is one statement more than before MQTT streams (19 -> 20).
"""

from __future__ import annotations

from contextlib import ExitStack

from connector.protocol.messages import read_offer
from connector.store.models import Negotiation, TransferProcess
from tests.dsp.conftest import run, seed_offer, settle, world  # noqa: F401  (world: the fixture)
from tests.engine.sql_counter import counting

NEGOTIATION = {"consumer": (5, 31), "provider": (4, 31)}
TRANSFER = {"consumer": (3, 16), "provider": (2, 20)}


def _negotiate(world):  # type: ignore[no-untyped-def]
    from tests.dsp.test_negotiation_flow import _catalog

    provider, consumer = world["provider"], world["consumer"]
    seed_offer(provider.services)
    offer_json = dict(_catalog(world).json()["dataset"][0]["hasPolicy"][0], target="asset-1")
    offer = read_offer({"offer": offer_json})
    settle(consumer, provider)  # both senders listen: what is queued goes to them in memory
    with ExitStack() as stack:
        theirs = stack.enter_context(counting(provider.services.db.engine))
        ours = stack.enter_context(counting(consumer.services.db.engine))
        neg = consumer.services.negotiations.request(
            counterparty_address=provider.dsp, counterparty_id=provider.settings.participant_id, offer=offer)
        settle(consumer, provider)
    with consumer.services.db.read() as s:
        row = s.get(Negotiation, neg.id)
        assert row is not None and row.state == "FINALIZED", row
    return row, ours, theirs


def test_one_negotiation_stays_within_its_budget(world):  # noqa: F811
    _, consumer, provider = _negotiate(world)
    for side, counts in (("consumer", consumer), ("provider", provider)):
        transactions, statements = NEGOTIATION[side]
        assert counts.write_transactions <= transactions, (side, str(counts), counts.log)
        assert counts.statements <= statements, (side, str(counts), counts.log)


def test_one_transfer_stays_within_its_budget(world):  # noqa: F811
    neg, _, _ = _negotiate(world)
    provider, consumer = world["provider"], world["consumer"]
    with ExitStack() as stack:
        theirs = stack.enter_context(counting(provider.services.db.engine))
        ours = stack.enter_context(counting(consumer.services.db.engine))
        tp = consumer.services.transfers.request(agreement_id=neg.agreement_id, counterparty_address=provider.dsp)
        settle(consumer, provider)
    with consumer.services.db.read() as s:
        row = s.get(TransferProcess, tp.id)
        assert row is not None and row.state == "STARTED", row
    for side, counts in (("consumer", ours), ("provider", theirs)):
        transactions, statements = TRANSFER[side]
        assert counts.write_transactions <= transactions, (side, str(counts), counts.log)
        assert counts.statements <= statements, (side, str(counts), counts.log)


