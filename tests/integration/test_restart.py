"""A connector killed mid-negotiation and restarted finishes the negotiation."""

import pytest

pytestmark = pytest.mark.integration


def offer_from_catalog(consumer, provider) -> dict:
    r = consumer.management("POST", "/v3/catalog/request", {
        "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
        "counterPartyAddress": provider.dsp, "counterPartyId": provider.participant_id,
        "protocol": "dataspace-protocol-http:2025-1"})
    assert r.status_code == 200, r.text
    dataset = r.json()["dataset"]
    dataset = dataset[0] if isinstance(dataset, list) else dataset
    offer = dataset["hasPolicy"]
    offer = offer[0] if isinstance(offer, list) else offer
    return {**offer, "assigner": provider.participant_id, "target": dataset["@id"]}


def start_negotiation(consumer, provider, offer) -> str:
    r = consumer.management("POST", "/v3/contractnegotiations", {
        "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
        "counterPartyAddress": provider.dsp, "counterPartyId": provider.participant_id,
        "protocol": "dataspace-protocol-http:2025-1", "policy": offer})
    assert r.status_code == 200, r.text
    return r.json()["@id"]


def test_both_killed_mid_negotiation_finish_after_restart(pair):
    provider, consumer = pair
    provider.start()
    consumer.start()
    offer = offer_from_catalog(consumer, provider)
    provider.process.kill()  # the provider dies before the request reaches it

    negotiation = start_negotiation(consumer, provider, offer)
    # the request is stored and retried as data while the provider is down
    assert consumer.wait_state(negotiation, ("INITIAL", "REQUESTING"))["state"] in ("INITIAL", "REQUESTING")
    consumer.process.kill()  # and now the consumer dies too, with the retry still pending

    provider.start()
    consumer.start()
    done = consumer.wait_state(negotiation, ("FINALIZED", "TERMINATED"))
    assert done["state"] == "FINALIZED", done
    agreement = consumer.management("GET", f"/v3/contractnegotiations/{negotiation}/agreement").json()
    assert provider.management("GET", f"/v3/contractagreements/{agreement['@id']}").status_code == 200


def test_both_killed_at_once_mid_negotiation_finish_after_restart(pair):
    """Wherever the negotiation is when both processes die, the stored state and outbox finish it."""
    provider, consumer = pair
    provider.start()
    consumer.start()
    offer = offer_from_catalog(consumer, provider)
    negotiation = start_negotiation(consumer, provider, offer)
    consumer.process.kill()
    provider.process.kill()
    provider.start()
    consumer.start()
    done = consumer.wait_state(negotiation, ("FINALIZED", "TERMINATED"))
    assert done["state"] == "FINALIZED", done
