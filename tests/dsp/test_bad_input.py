"""Bad DSP input gets 400 with the spec's error shape, names the field, and stores nothing."""

import json

import httpx
import pytest

from connector.services.peers import PeerInput
from connector.store.models import Negotiation, ReceivedMessage
from tests.dsp.conftest import run, seed_offer

CTX = ["https://w3id.org/dspace/2025/1/context.jsonld"]


def post(world, path, content, token="consumer-token"):
    async def go():
        async with httpx.AsyncClient(transport=world["router"]) as client:
            return await client.post(world["provider"].dsp + path, content=content,
                                     headers={"Authorization": token, "Content-Type": "application/json"})
    return run(go())


def request_body(**changes):
    body = {
        "@context": CTX, "@type": "ContractRequestMessage", "consumerPid": "urn:uuid:c-1",
        "callbackAddress": "http://consumer.test:1002/api/dsp/2025-1",
        "offer": {"@id": "Y2QtYXNzZXQtMQ==:YXNzZXQtMQ==:eA==", "@type": "Offer", "target": "asset-1",
                  "permission": [{"action": "use"}]},
    }
    body.update(changes)
    return json.dumps(body)


def nothing_stored(world):
    with world["provider"].services.db.read() as s:
        from sqlmodel import select
        assert list(s.exec(select(Negotiation))) == []
        assert list(s.exec(select(ReceivedMessage))) == []


@pytest.mark.parametrize("content,field", [
    ("{not json", "$"),
    (request_body(**{"@type": "ContractOfferMessage"}), "@type"),
    (request_body(consumerPid=None), "consumerPid"),
    (request_body(consumerPid=42), "consumerPid"),
    (request_body(**{"@context": ["https://example.com/evil.jsonld"]}), "@context[0]"),
    (request_body(**{"@context": ["https://w3id.org/edc/v0.0.1"]}), "@context"),
    (request_body(offer={"@id": "x", "@type": "Offer", "target": "asset-1"}), "offer"),
    (request_body(offer={"@id": "x", "@type": "Set", "permission": [{"action": "use"}]}), "offer.@type"),
    (request_body(providerPid="urn:uuid:p"), "callbackAddress"),
])
def test_malformed_request_is_refused_and_nothing_is_stored(world, content, field):
    seed_offer(world["provider"].services)
    r = post(world, "/negotiations/request", content)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["@type"] == "ContractNegotiationError"
    assert body["@context"] == CTX
    assert any(reason.startswith(field) for reason in body["reason"]), body
    nothing_stored(world)


def test_body_over_the_limit_is_refused(world):
    world["provider"].settings.max_body_bytes = 1000
    r = post(world, "/negotiations/request", request_body(padding="x" * 2000))
    assert r.status_code == 413  # Payload Too Large, in the DSP error shape
    assert r.json()["@type"] == "ContractNegotiationError" and r.json()["code"] == "payload-too-large"
    assert "at most 1000 bytes" in r.json()["reason"][0]
    nothing_stored(world)


def test_unknown_caller_gets_404_and_nothing_is_stored(world):
    seed_offer(world["provider"].services)
    r = post(world, "/negotiations/request", request_body(), token="who-knows")
    assert r.status_code == 404
    nothing_stored(world)


def test_repeated_initial_request_creates_one_process_and_the_same_answer(world):
    seed_offer(world["provider"].services)
    first = post(world, "/negotiations/request", request_body())
    again = post(world, "/negotiations/request", request_body())
    # the TCK adds a fresh top-level @id to each try: still the same consumerPid, still one process
    other_id = post(world, "/negotiations/request", request_body(**{"@id": "urn:uuid:retry"}))
    assert first.status_code == again.status_code == other_id.status_code == 201
    assert first.json() == again.json() == other_id.json()
    with world["provider"].services.db.read() as s:
        from sqlmodel import select
        assert len(list(s.exec(select(Negotiation)))) == 1


def test_invalid_transition_gets_400_with_state_and_message(world):
    seed_offer(world["provider"].services)
    pid = post(world, "/negotiations/request", request_body()).json()["providerPid"]
    verification = json.dumps({"@context": CTX, "@type": "ContractAgreementVerificationMessage",
                               "providerPid": pid, "consumerPid": "urn:uuid:c-1"})
    r = post(world, f"/negotiations/{pid}/agreement/verification", verification)
    assert r.status_code == 400
    body = r.json()
    assert body["@type"] == "ContractNegotiationError"
    assert body["providerPid"] == pid and body["consumerPid"] == "urn:uuid:c-1"
    assert "REQUESTED" in body["reason"][0] and "ContractAgreementVerificationMessage" in body["reason"][0]


def test_other_callers_process_is_404(world):
    seed_offer(world["provider"].services)
    known = world["provider"].settings.peers[0]
    world["provider"].services.peers.add(PeerInput("did:web:mallory.test", "mallory-token", known.dsp_url, known.bpn,
                                                   dict(known.claims)))
    pid = post(world, "/negotiations/request", request_body()).json()["providerPid"]

    async def get(token):
        async with httpx.AsyncClient(transport=world["router"]) as client:
            return await client.get(world["provider"].dsp + f"/negotiations/{pid}", headers={"Authorization": token})
    assert run(get("consumer-token")).status_code == 200
    assert run(get("mallory-token")).status_code == 404
    assert run(get("consumer-token")).json()["state"] in ("REQUESTED", "AGREED")


def test_version_metadata_is_unauthenticated(world):
    async def go():
        async with httpx.AsyncClient(transport=world["router"]) as client:
            return await client.get(world["provider"].base + "/.well-known/dspace-version")
    r = run(go())
    assert r.status_code == 200
    entry = r.json()["protocolVersions"][0]
    assert entry == {"version": "2025-1", "path": "/api/dsp/2025-1", "binding": "HTTPS"}


def deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize("path,shape", [
    ("/negotiations/request", "ContractNegotiationError"),
    ("/negotiations/urn:uuid:x/termination", "ContractNegotiationError"),
    ("/transfers/request", "TransferError"),
    ("/catalog/request", "CatalogError"),
])
@pytest.mark.parametrize("levels", [3000, 200])
def test_a_deeply_nested_body_is_a_400_in_the_dsp_shape_not_a_500(world, path, shape, levels):
    """Issue 8: 3,000 levels made the parser (or the code after it) raise RecursionError: a 500."""
    seed_offer(world["provider"].services)
    body = '{"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "X", "x": ' + deep(levels) + "}"
    r = post(world, path, body)
    assert r.status_code == 400, r.text
    answer = r.json()
    assert answer["@type"] == shape and any("nested at most" in reason for reason in answer["reason"]), answer
    nothing_stored(world)
