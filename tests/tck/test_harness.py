"""The harness checks itself: a harness that cannot fail proves nothing about the connector."""

from __future__ import annotations

import pytest

from tests.tck import peer as peer_module
from tests.tck import shapes
from tests.tck.peer import Expectation, Received, Session
from tests.tck.steps import PROVIDER, Scenario, Step, expect, play, send, wait_state

pytestmark = pytest.mark.integration  # starts `connector serve` on 127.0.0.1


def test_schema_check_names_what_is_wrong() -> None:
    found = shapes.problems("ContractNegotiation", {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                                                       "@type": "ContractNegotiation", "providerPid": "p",
                                                       "consumerPid": "c", "state": "dspace:REQUESTED"})
    assert found and "state" in found[0]
    assert shapes.problems("ContractNegotiation", {"@type": "ContractNegotiationError"}) == [
        "@type: expected 'ContractNegotiation', got 'ContractNegotiationError'"]


def test_peer_refuses_and_records_what_no_step_expects(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(peer_module, "GRACE_SECONDS", 0.05)
    session = Session("t", "http://peer/s/t", lambda e, b: [])
    status, _ = session.deliver("negotiations/x/offers", {"@type": "ContractOfferMessage"})
    assert status == 404 and [u.path for u in session.unexpected] == ["negotiations/x/offers"]
    session.arm(r"negotiations/[^/]+/offers", "ContractOfferMessage")
    status, body = session.deliver("negotiations/x/offers", {"@type": "ContractOfferMessage", "providerPid": "p",
                                                             "consumerPid": "x"})
    assert status == 200 and body["state"] == "OFFERED" and session.tck_state == "OFFERED"


def test_peer_keeps_problems_of_invalid_messages() -> None:
    def checker(expectation: Expectation, body: object) -> list[str]:
        return shapes.problems(expectation.type_name, body)

    session = Session("t", "http://peer/s/t", checker)
    session.arm(r"negotiations/[^/]+/termination", "ContractNegotiationTerminationMessage")
    session.deliver("negotiations/x/termination", {"@type": "ContractNegotiationTerminationMessage"})
    assert session.armed[0].problems and session.tck_state is None
    assert session.armed[0].received == Received("negotiations/x/termination",
                                                 {"@type": "ContractNegotiationTerminationMessage"})


def test_a_wrong_expectation_fails_the_scenario(cut, peer) -> None:  # type: ignore[no-untyped-def]
    # ACN0101 is scripted to offer; a scenario that waits for an agreement must fail
    wrong = Scenario("self-test", PROVIDER, "ACN0101",
                     (expect("agreement"), send("request", 201), wait_state("tck", "AGREED", timeout=1.5)))
    with pytest.raises(AssertionError, match="did not reach AGREED"):
        play(wrong, cut, peer)


def test_a_404_fails_even_a_negative_step(cut, peer) -> None:  # type: ignore[no-untyped-def]
    # a well-formed termination for a process the CUT does not know: it must answer 404
    invent = Step("invent a providerPid", lambda r: setattr(r, "provider_pid", "urn:uuid:not-known-here"))
    unknown = Scenario("self-test", PROVIDER, "ACN0101", (invent, send("termination", expect="4xx")))
    with pytest.raises(AssertionError, match="404"):
        play(unknown, cut, peer)
