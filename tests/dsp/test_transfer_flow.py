"""Transfer processes between two connectors: pull with an EDR, the lifecycle, and refusals."""

import httpx
import pytest
from sqlmodel import select

from connector.jsonld.terms import EDC_NS
from connector.protocol.messages import read_offer
from connector.store.models import Negotiation, TransferProcess
from tests.dsp.conftest import run, seed_offer, settle


@pytest.fixture
def agreed(world):
    provider, consumer = world["provider"], world["consumer"]
    seed_offer(provider.services)

    async def catalog():
        async with httpx.AsyncClient(transport=world["router"]) as client:
            return await client.post(provider.dsp + "/catalog/request", headers={"Authorization": "consumer-token"},
                                     json={"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                                           "@type": "CatalogRequestMessage"})
    offer = read_offer({"offer": dict(run(catalog()).json()["dataset"][0]["hasPolicy"][0], target="asset-1")})
    neg = consumer.services.negotiations.request(
        counterparty_address=provider.dsp, counterparty_id=provider.settings.participant_id, offer=offer)
    settle(consumer, provider)
    with consumer.services.db.read() as s:
        agreement_id = s.get(Negotiation, neg.id).agreement_id
    assert agreement_id
    return world, agreement_id


def state(party, pid):
    with party.services.db.read() as s:
        return s.get(TransferProcess, pid)


def test_pull_transfer_starts_with_an_edr_and_completes(agreed):
    world, agreement_id = agreed
    provider, consumer = world["provider"], world["consumer"]
    tp = consumer.services.transfers.request(agreement_id=agreement_id, counterparty_address=provider.dsp)
    settle(consumer, provider)
    mine = state(consumer, tp.id)
    assert mine.state == "STARTED", mine.error_detail
    address = mine.data_address
    props = {p["name"]: p["value"] for p in address["endpointProperties"]}
    assert address["endpoint"].endswith("/api/public") and props[EDC_NS + "authType"] == "bearer"
    with provider.services.db.read() as s:
        claims = provider.services.edrs.verify(s, props[EDC_NS + "authorization"], provider.services.transfers.clock())
    assert claims.transfer_id == mine.provider_pid and claims.agreement_id == agreement_id

    consumer.services.transfers.complete(tp.id)
    settle(consumer, provider)
    assert state(consumer, tp.id).state == "COMPLETED"
    assert state(provider, mine.provider_pid).state == "COMPLETED"


def test_suspended_transfer_cannot_complete_but_resumes(agreed):
    world, agreement_id = agreed
    provider, consumer = world["provider"], world["consumer"]
    tp = consumer.services.transfers.request(agreement_id=agreement_id, counterparty_address=provider.dsp)
    settle(consumer, provider)
    consumer.services.transfers.suspend(tp.id, "maintenance")
    settle(consumer, provider)
    provider_pid = state(consumer, tp.id).provider_pid
    assert state(provider, provider_pid).state == "SUSPENDED"
    from connector.services.errors import Conflict
    with pytest.raises(Conflict, match="SUSPENDED transfer process cannot complete"):
        consumer.services.transfers.complete(tp.id)
    provider.services.transfers.start(provider_pid)  # the provider resumes
    settle(consumer, provider)
    assert state(consumer, tp.id).state == "STARTED"


def test_transfer_under_an_unknown_agreement_is_refused(agreed):
    world, _ = agreed
    provider, consumer = world["provider"], world["consumer"]
    from connector.store.models import Agreement
    with consumer.services.db.write() as s:  # an agreement the provider never made
        s.add(Agreement(id="urn:uuid:forged", negotiation_id="x", asset_id="asset-1",
                        provider_id=provider.settings.participant_id, consumer_id=consumer.settings.participant_id,
                        policy={}, signing_date=1, created_at=1))
    tp = consumer.services.transfers.request(agreement_id="urn:uuid:forged", counterparty_address=provider.dsp)
    settle(consumer, provider)
    mine = state(consumer, tp.id)
    assert mine.state == "TERMINATED"
    assert "no agreement 'urn:uuid:forged'" in mine.error_detail
    with provider.services.db.read() as s:
        assert list(s.exec(select(TransferProcess))) == []


@pytest.mark.parametrize("exp", ['"soon"', "NaN", "1e400", "[1]", "true"])
def test_an_edr_whose_exp_is_not_a_number_is_refused_with_the_reason(agreed, exp):
    """Issue 8: such an EDR made the consumer answer 500 (int(NaN), int(inf))."""
    import base64
    import json

    world, agreement_id = agreed
    provider, consumer = world["provider"], world["consumer"]
    tp = consumer.services.transfers.request(agreement_id=agreement_id, counterparty_address=provider.dsp)
    settle(consumer)  # the provider acknowledges; it has not started the transfer yet
    mine = state(consumer, tp.id)

    def part(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()
    token = part('{"alg":"EdDSA"}') + "." + part(f'{{"exp": {exp}, "tp": "x"}}') + ".c2ln"
    start = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "TransferStartMessage",
             "providerPid": mine.provider_pid, "consumerPid": mine.consumer_pid,
             "dataAddress": {"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
                             "endpoint": "http://provider.test:1001/api/public", "endpointProperties": [
                                 {"@type": "EndpointProperty", "name": "authorization", "value": token}]}}

    async def send():
        async with httpx.AsyncClient(transport=world["router"]) as client:
            return await client.post(f"{consumer.dsp}/transfers/{mine.consumer_pid}/start", content=json.dumps(start),
                                     headers={"Authorization": "provider-token", "Content-Type": "application/json"})
    answer = run(send())
    assert answer.status_code == 400, answer.text
    assert answer.json()["@type"] == "TransferError" and "NumericDate" in answer.json()["reason"][0]
    after = state(consumer, tp.id)
    assert after.state == "REQUESTED" and after.data_address is None
