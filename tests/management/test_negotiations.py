"""``/v3/contractnegotiations`` and ``/v3/contractagreements``, with a real provider in-process."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import Peer
from tests.management.conftest import make_settings
from tests.management.helpers import API_KEY, CONSUMER_ID, CX_CONTEXTS, PROVIDER_ID, VOCAB, ok, publish

NEGOTIATIONS = "/management/v3/contractnegotiations"
AGREEMENTS = "/management/v3/contractagreements"


def first_offer(pair, asset_id: str = "asset-1") -> dict:
    catalog = ok(pair.consumer.post("/management/v3/catalog/request", json={
        "@context": VOCAB, "counterPartyAddress": pair.provider_dsp, "counterPartyId": PROVIDER_ID,
        "protocol": "dataspace-protocol-http:2025-1"}))
    [dataset] = [d for d in catalog["dataset"] if d["@id"] == asset_id]
    return dataset["hasPolicy"][0]


def contract_request(address: str, offer: dict, asset_id: str = "asset-1", context=CX_CONTEXTS, **extra) -> dict:
    return {"@context": context, "@type": "ContractRequest", "counterPartyAddress": address,
            "protocol": "dataspace-protocol-http:2025-1",
            "policy": {**offer, "@type": "Offer", "assigner": PROVIDER_ID, "target": asset_id}, **extra}


def negotiate(pair, body: dict) -> dict:
    created = ok(pair.consumer.post(NEGOTIATIONS, json=body))
    assert created["@type"] == "IdResponse" and created["createdAt"] > 0
    return pair.wait_state(pair.consumer, created["@id"])


def test_a_negotiation_runs_to_finalized_and_both_sides_hold_the_agreement(pair):
    publish(pair.provider)
    offer = first_offer(pair)
    callbacks = [{"uri": "https://hooks.invalid/n", "events": ["contract.negotiation"], "transactional": False}]
    done = negotiate(pair, contract_request(pair.provider_dsp, offer, callbackAddresses=callbacks))
    assert done["state"] == "FINALIZED", done
    assert done["@type"] == "ContractNegotiation" and done["type"] == "CONSUMER"
    assert done["counterPartyId"] == PROVIDER_ID and done["counterPartyAddress"] == pair.provider_dsp
    assert done["protocol"] == "dataspace-protocol-http:2025-1"
    assert done["callbackAddresses"] == callbacks
    assert "error" not in done and "errorDetail" not in done

    agreement = ok(pair.consumer.get(f"{NEGOTIATIONS}/{done['@id']}/agreement"))
    assert agreement["@id"] == done["contractAgreementId"]
    assert agreement["@type"] == "ContractAgreement" and agreement["assetId"] == "asset-1"
    assert (agreement["consumerId"], agreement["providerId"]) == (CONSUMER_ID, PROVIDER_ID)
    assert 1_600_000_000 < agreement["contractSigningDate"] < 10_000_000_000  # seconds, as EDC shows it
    policy = agreement["policy"]
    assert policy["@type"] == "odrl:Agreement" and policy["odrl:target"] == {"@id": "asset-1"}
    assert policy["odrl:assignee"] == {"@id": CONSUMER_ID}
    assert policy["odrl:permission"][0]["odrl:action"] == {"@id": "odrl:use"}

    provider_copy = ok(pair.provider.get(f"{AGREEMENTS}/{agreement['@id']}"))
    # each side stamps the signing date when it records the agreement, so they may differ by a second
    assert abs(provider_copy.pop("contractSigningDate") - agreement.pop("contractSigningDate")) <= 1
    assert provider_copy == agreement
    provider_side = ok(pair.provider.get(f"{AGREEMENTS}/{agreement['@id']}/negotiation"))
    assert provider_side["type"] == "PROVIDER" and provider_side["state"] == "FINALIZED"
    assert provider_side["counterPartyId"] == CONSUMER_ID
    # tractusx-sdk asks for this one with a double slash (see agreements.sdk_alias)
    assert ok(pair.consumer.get(f"/management/v3//contractagreements/{agreement['@id']}/negotiation"))["@id"] == done["@id"]


def test_the_offer_in_edc_prefixed_form_with_vocab_only_negotiates_too(pair):
    publish(pair.provider)
    offer = first_offer(pair)
    body = {
        "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/", "odrl": "http://www.w3.org/ns/odrl/2/"},
        "counterPartyAddress": pair.provider_dsp, "counterPartyId": PROVIDER_ID,
        "protocol": "dataspace-protocol-http",
        # the catalog's compact offer pasted under @vocab edc, the way many EDC users do it
        "policy": {**offer, "@type": "odrl:Offer", "odrl:assigner": {"@id": PROVIDER_ID},
                   "odrl:target": {"@id": "asset-1"}},
    }
    assert negotiate(pair, body)["state"] == "FINALIZED"


def test_a_refusal_shows_the_providers_reason(pair):
    publish(pair.provider)
    offer = copy.deepcopy(first_offer(pair))
    offer["permission"][0]["constraint"][0]["and"][0]["rightOperand"] = "SomethingElse:9"
    done = negotiate(pair, contract_request(pair.provider_dsp, offer))
    assert done["state"] == "TERMINATED"
    error = done["error"]
    assert error["by"] == "local" and error["code"]
    assert any("differs from the one published" in r for r in error["reasons"]), error
    assert "differs from the one published" in done["errorDetail"]


def test_query_negotiations_and_agreements(pair):
    publish(pair.provider)
    done = negotiate(pair, contract_request(pair.provider_dsp, first_offer(pair)))
    found = ok(pair.consumer.post(f"{NEGOTIATIONS}/request", json={"@context": VOCAB, "filterExpression": [
        {"operandLeft": "state", "operator": "=", "operandRight": "FINALIZED"},
        {"operandLeft": "counterPartyId", "operator": "=", "operandRight": PROVIDER_ID}]}))
    assert [n["@id"] for n in found] == [done["@id"]]
    assert ok(pair.consumer.post(f"{NEGOTIATIONS}/request", json={"@context": VOCAB, "filterExpression": [
        {"operandLeft": "state", "operator": "=", "operandRight": "TERMINATED"}]})) == []
    assert [n["type"] for n in ok(pair.provider.post(f"{NEGOTIATIONS}/request"))] == ["PROVIDER"]

    agreements = ok(pair.consumer.post(f"{AGREEMENTS}/request", json={"@context": VOCAB, "filterExpression": [
        {"operandLeft": "assetId", "operator": "=", "operandRight": "asset-1"}]}))
    assert [a["@id"] for a in agreements] == [done["contractAgreementId"]]
    assert ok(pair.consumer.post(f"{AGREEMENTS}/request", json={"@context": VOCAB, "filterExpression": [
        {"operandLeft": "contractSigningDate", "operator": ">", "operandRight": 10_000_000_000}]})) == []


def test_terminating_a_finalized_negotiation_is_409_with_the_protocols_reason(pair):
    publish(pair.provider)
    done = negotiate(pair, contract_request(pair.provider_dsp, first_offer(pair)))
    r = pair.consumer.post(f"{NEGOTIATIONS}/{done['@id']}/terminate",
                           json={"@context": VOCAB, "@type": "TerminateNegotiation", "reason": "changed my mind"})
    assert r.status_code == 409
    [error] = r.json()
    assert error["type"] == "ObjectConflict" and "FINALIZED" in error["message"]


@pytest.fixture
def idle(tmp_path):
    """A connector without its worker: a ContractRequestMessage stays queued, never sent."""
    settings = make_settings(f"sqlite:///{tmp_path / 'solo.db'}",
                             peers=[Peer(id=PROVIDER_ID, token="token-of-provider")])
    with TestClient(create_app(settings, run_worker=False), headers={"X-Api-Key": API_KEY}) as client:
        yield client


def test_terminate_before_the_request_left(idle):
    offer = {"@id": "offer-1", "permission": [{"action": "use"}]}
    created = ok(idle.post(NEGOTIATIONS, json=contract_request("https://peer.invalid/dsp", offer)))
    path = f"{NEGOTIATIONS}/{created['@id']}"
    state = ok(idle.get(f"{path}/state"))
    assert (state["@type"], state["state"]) == ("NegotiationState", "REQUESTING")
    assert idle.get(f"{path}/agreement").status_code == 404
    r = idle.post(f"{path}/terminate", json={"@context": VOCAB, "@type": "TerminateNegotiation", "reason": "not needed"})
    assert r.status_code == 204, r.text
    neg = ok(idle.get(path))
    assert neg["state"] == "TERMINATED"
    assert neg["error"] == {"by": "local", "code": "terminated-by-user", "reasons": ["not needed"]}
    r = idle.post(f"{path}/terminate", json={"@type": "ContractRequest"})
    assert r.status_code == 400 and r.json()[0]["path"] == "@type"


@pytest.mark.parametrize("change, path", [
    ({"counterPartyAddress": None}, "counterPartyAddress"),
    ({"protocol": "dataspace-protocol-http:2024-1"}, "protocol"),
    ({"policy": None}, "policy"),
    ({"policy": {"@type": "Offer", "assigner": PROVIDER_ID, "target": "a", "permission": [{"action": "use"}]}},
     "policy.@id"),
    ({"policy": {"@id": "o", "@type": "Set", "assigner": PROVIDER_ID, "target": "a", "permission": [{"action": "use"}]}},
     "policy.@type"),
    ({"policy": {"@id": "o", "assigner": PROVIDER_ID, "target": "a"}}, "policy"),
    ({"policy": {"@id": "o", "assigner": PROVIDER_ID, "permission": [{"action": "use"}]}}, "policy.target"),
    ({"policy": {"@id": "o", "target": "a", "permission": [{"action": "use"}]}}, "policy.assigner"),
    ({"policy": {"@id": "o", "assigner": PROVIDER_ID, "target": "a", "permission": [{"constraint": []}]}},
     "policy.permission[0].action"),
    ({"callbackAddresses": [{"events": ["x"]}]}, "callbackAddresses[0]"),
])
def test_bad_contract_requests_are_400_and_store_nothing(api, change, path):
    body = contract_request("https://peer.invalid/dsp", {"@id": "offer-1", "permission": [{"action": "use"}]})
    body = {k: v for k, v in {**body, **change}.items() if v is not None}
    r = api.post(NEGOTIATIONS, json=body)
    assert r.status_code == 400, r.text
    assert r.json()[0]["path"] == path
    assert ok(api.post(f"{NEGOTIATIONS}/request")) == []


def test_a_queued_negotiation_is_found_by_the_state_it_shows(idle):
    offer = {"@id": "offer-1", "permission": [{"action": "use"}]}
    created = ok(idle.post(NEGOTIATIONS, json=contract_request("https://peer.invalid/dsp", offer)))

    def by_state(operator: str, value) -> list[str]:  # type: ignore[no-untyped-def]
        spec = {"@context": VOCAB, "filterExpression": [{"operandLeft": "state", "operator": operator, "operandRight": value}]}
        return [n["@id"] for n in ok(idle.post(f"{NEGOTIATIONS}/request", json=spec))]

    assert by_state("=", "REQUESTING") == [created["@id"]]
    assert by_state("in", ["REQUESTED", "REQUESTING"]) == [created["@id"]]
    assert by_state("like", "REQUEST%") == [created["@id"]]
    assert by_state("!=", "REQUESTING") == [] and by_state("=", "FINALIZED") == []


def test_counter_party_id_stands_in_for_a_missing_assigner(idle):
    body = contract_request("https://peer.invalid/dsp", {"@id": "offer-1", "permission": [{"action": "use"}]},
                            counterPartyId=PROVIDER_ID)
    del body["policy"]["assigner"]
    created = ok(idle.post(NEGOTIATIONS, json=body))
    assert ok(idle.get(f"{NEGOTIATIONS}/{created['@id']}"))["counterPartyId"] == PROVIDER_ID


def test_a_negotiation_with_an_unknown_provider_is_refused_saying_the_fix(idle):
    """Static-token mode: the provider's answers would come from no known participant."""
    offer = {"@id": "offer-1", "permission": [{"action": "use"}]}
    body = contract_request("https://peer.invalid/dsp", offer)
    body["policy"]["assigner"] = body["counterPartyId"] = "did:web:stranger.test"
    for path in (NEGOTIATIONS, "/management/v3/edrs"):
        r = idle.post(path, json=body)
        assert r.status_code == 400 and r.json()[0]["path"] == "counterPartyId", r.text
        assert "connector peer add did:web:stranger.test" in r.json()[0]["message"]
    assert ok(idle.post(f"{NEGOTIATIONS}/request", json={})) == []
