"""Two connectors agree a contract over DSP, end to end, in both roles."""

import httpx

from connector.protocol.messages import read_offer
from connector.store.models import Agreement, Negotiation
from tests.dsp.conftest import run, seed_offer, settle


def _catalog(world):
    async def go():
        async with httpx.AsyncClient(transport=world["router"]) as client:
            r = await client.post(world["provider"].dsp + "/catalog/request",
                                  json={"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                                        "@type": "CatalogRequestMessage"},
                                  headers={"Authorization": "consumer-token"})
            return r
    return run(go())


def test_catalog_then_negotiation_to_finalized(world):
    provider, consumer = world["provider"], world["consumer"]
    seed_offer(provider.services)
    r = _catalog(world)
    assert r.status_code == 200, r.text
    dataset = r.json()["dataset"][0]
    assert dataset["@id"] == "asset-1"
    offer_json = dict(dataset["hasPolicy"][0], target="asset-1")
    offer = read_offer({"offer": offer_json})
    neg = consumer.services.negotiations.request(
        counterparty_address=provider.dsp, counterparty_id=provider.settings.participant_id, offer=offer)
    settle(consumer, provider)
    with consumer.services.db.read() as s:
        mine = s.get(Negotiation, neg.id)
        assert mine.state == "FINALIZED", (mine.state, mine.error_detail)
        assert s.get(Agreement, mine.agreement_id) is not None
    with provider.services.db.read() as s:
        theirs = s.get(Negotiation, mine.provider_pid)
        assert theirs.state == "FINALIZED"
        assert theirs.agreement_id == mine.agreement_id


def test_unknown_offer_is_refused_with_a_reason(world):
    provider, consumer = world["provider"], world["consumer"]
    seed_offer(provider.services)
    offer = read_offer({"offer": {"@id": "bm8=:bm8=:bm8=", "@type": "Offer", "target": "asset-1",
                                  "permission": [{"action": "use"}]}})
    neg = consumer.services.negotiations.request(
        counterparty_address=provider.dsp, counterparty_id=provider.settings.participant_id, offer=offer)
    settle(consumer, provider)
    with consumer.services.db.read() as s:
        mine = s.get(Negotiation, neg.id)
    assert mine.state == "TERMINATED"
    assert "not offered here" in mine.error_detail


def test_changed_policy_is_refused_with_a_reason(world):
    provider, consumer = world["provider"], world["consumer"]
    seed_offer(provider.services)
    offer_json = dict(_catalog(world).json()["dataset"][0]["hasPolicy"][0], target="asset-1")
    offer_json["permission"] = [{"action": "use", "constraint": [
        {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": ["BPNL00000MOTORWK"]}]}]
    offer = read_offer({"offer": offer_json})
    neg = consumer.services.negotiations.request(
        counterparty_address=provider.dsp, counterparty_id=provider.settings.participant_id, offer=offer)
    settle(consumer, provider)
    with consumer.services.db.read() as s:
        mine = s.get(Negotiation, neg.id)
    assert mine.state == "TERMINATED"
    assert "differs from the one published" in mine.error_detail
