"""A process's timeline, rebuilt from the messages stored for it: states reached, when, and why it ended."""

from __future__ import annotations

import pytest

from connector.services.console import timeline
from connector.store import Database
from connector.store.models import Negotiation, OutgoingMessage, ReceivedMessage, TransferProcess


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'timeline.db'}")
    database.migrate()
    yield database
    database.dispose()


def negotiation(state: str, **extra) -> Negotiation:
    return Negotiation(id="n1", role="PROVIDER", state=state, counterparty_id="did:web:buyer.test",
                       counterparty_address="http://buyer.test/api/dsp/2025-1", created_at=1000, updated_at=3000,
                       **extra)


def test_a_denied_negotiation_ends_in_a_red_step_with_its_reason_and_the_peer_first_at_equal_times(db):
    row = negotiation("TERMINATED", error={"by": "local", "code": "policy-denied",
                                           "reasons": ["FrameworkAgreement eq DataExchangeGovernance:1.0 failed"]},
                      error_detail="FrameworkAgreement eq DataExchangeGovernance:1.0 failed")
    with db.write() as session:
        session.add(row)
        session.add(OutgoingMessage(process_id="n1", kind="ContractNegotiationTerminationMessage", url="u", body={},
                                    status="done", created_at=2000))
        session.add(ReceivedMessage(digest="d1", process_id="n1", status_code=201,
                                    response={"@type": "ContractNegotiation", "state": "REQUESTED"}, created_at=2000))
    line = timeline(db, row)
    assert [(s.state, s.reached, s.bad) for s in line.steps] == [("REQUESTED", True, False), ("TERMINATED", True, True)]
    assert line.steps[0].at == 2000 and line.steps[1].current
    assert [e.who for e in line.events] == ["peer", "us"]  # we answered the peer's request
    assert line.reasons == ["FrameworkAgreement eq DataExchangeGovernance:1.0 failed"] and line.denied_by == "us"


def test_a_finalized_negotiation_shows_the_usual_road_and_a_failing_message_says_why(db):
    row = negotiation("VERIFIED")
    with db.write() as session:
        session.add(row)
        session.add(ReceivedMessage(digest="d1", process_id="n1", status_code=201,
                                    response={"state": "dspace:REQUESTED"}, created_at=1000))
        session.add(OutgoingMessage(process_id="n1", kind="ContractAgreementMessage", url="u", body={},
                                    status="done", created_at=1100))
        session.add(OutgoingMessage(process_id="n1", kind="ContractNegotiationEventMessage:FINALIZED", url="u",
                                    body={}, status="pending", attempts=3, last_error="ConnectError",
                                    created_at=1300))
    line = timeline(db, row)
    # FINALIZED is only on its way: the message is pending, so the process is still VERIFIED
    assert [(s.state, s.reached) for s in line.steps] == [("REQUESTED", True), ("AGREED", True),
                                                          ("VERIFIED", True), ("FINALIZED", False)]
    assert [s.state for s in line.steps if s.current] == ["VERIFIED"]
    assert line.events[-1].text == "we are sending event FINALIZED"
    assert "ConnectError" in line.events[-1].problem and "3 attempt" in line.events[-1].problem
    assert line.reasons == []


def test_a_transfer_waits_at_requested_with_the_rest_of_its_road_ahead(db):
    row = TransferProcess(id="t1", role="CONSUMER", state="INITIAL", counterparty_id="did:web:seller.test",
                          counterparty_address="http://seller.test/api/dsp/2025-1", agreement_id="a1",
                          transfer_type="HttpData-PULL", created_at=1, updated_at=1)
    with db.write() as session:
        session.add(row)
    line = timeline(db, row)
    assert [(s.state, s.reached, s.current) for s in line.steps] == [
        ("REQUESTED", True, True), ("STARTED", False, False), ("COMPLETED", False, False)]
