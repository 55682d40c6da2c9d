"""Two connectors in one process for transfer and EDR tests, reaching each other without sockets.

DSP goes through httpx's ASGITransport (hosts ``consumer.test`` / ``provider.test``), as in
tests/management. The consumer's EDR refresh client is a sync httpx client whose transport is the
provider's TestClient transport, so a refresh reaches the provider's real token endpoint. Each
side knows the other with the claims the Catena-X policies ask for (static-token mode).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import Peer, ServerSettings, Settings
from connector.services.consumer_edrs import TokenRefresher
from connector.services.container import Container, build
from connector.services.transport import DspClient

API_KEY = "transfer-test-key"
CONSUMER_ID, PROVIDER_ID = "did:web:achsen.test", "did:web:nordguss.test"
CLAIMS = {"membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}
VOCAB = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}
CX = ["https://w3id.org/catenax/2025/9/policy/context.jsonld", "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
      VOCAB]
PCF = {"id": "urn:uuid:3f9c1c53-7b1e-4a36-9d5e-7a1f0e1c0a01", "productIds": ["urn:mpn:NG-WC-400"],
       "pcf": {"declaredUnitOfMeasurement": "piece", "declaredUnitAmount": 1, "pcfExcludingBiogenicUptake": 12.5}}


def ok(response: httpx.Response, status: int = 200):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@dataclass
class Pair:
    consumer: TestClient
    provider: TestClient
    consumer_services: Container
    provider_services: Container
    provider_dsp: str = "http://provider.test/api/dsp/2025-1"

    def publish(self, asset_id: str = "pcf-NG-WC-400", document: dict | None = None) -> None:
        """An asset served from the provider's own store, under a usage policy the consumer satisfies."""
        policy = {"@context": CX, "@type": "PolicyDefinition", "@id": "pcf-usage", "policy": {
            "@type": "Set", "permission": [{"action": "use", "constraint": [{"and": [
                {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
                {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
                {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}]}]}]}}
        r = self.provider.post("/management/v3/policydefinitions", json=policy)
        assert r.status_code in (200, 409), r.text
        ok(self.provider.post("/management/v3/assets", json={
            "@context": VOCAB, "@id": asset_id, "properties": {"name": f"PCF {asset_id}"},
            # @json: the document is data, not JSON-LD to expand (which would unwrap one-item arrays)
            "dataAddress": {"type": "PontisDocument", "document": {"@type": "@json", "@value": document or PCF}}}))
        ok(self.provider.post("/management/v3/contractdefinitions", json={
            "@context": VOCAB, "@id": f"cd-{asset_id}", "accessPolicyId": "pcf-usage", "contractPolicyId": "pcf-usage",
            "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
                                "operandRight": asset_id}]}))

    def offer(self, asset_id: str = "pcf-NG-WC-400") -> dict:
        catalog = ok(self.consumer.post("/management/v3/catalog/request", json={
            "@context": VOCAB, "counterPartyAddress": self.provider_dsp, "counterPartyId": PROVIDER_ID,
            "protocol": "dataspace-protocol-http:2025-1"}))
        datasets = catalog.get("dcat:dataset") or catalog.get("dataset") or []
        datasets = datasets if isinstance(datasets, list) else [datasets]
        dataset = next(d for d in datasets if d["@id"] == asset_id)
        offer = dataset.get("odrl:hasPolicy") or dataset.get("hasPolicy")
        return offer[0] if isinstance(offer, list) else offer

    def contract_request(self, asset_id: str = "pcf-NG-WC-400", **extra) -> dict:
        offer = self.offer(asset_id)
        policy = {**offer, "@type": "odrl:Offer", "odrl:assigner": {"@id": PROVIDER_ID}, "odrl:target": {"@id": asset_id}}
        return {"@context": CX[:2] + [{**VOCAB, "odrl": "http://www.w3.org/ns/odrl/2/"}],
                "@type": "ContractRequest", "counterPartyAddress": self.provider_dsp, "protocol":
                "dataspace-protocol-http:2025-1", "policy": policy, **extra}

    def wait(self, client: TestClient, path: str, states=("FINALIZED", "TERMINATED"), timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            body = ok(client.get(path))
            if body.get("state") in states:
                return body
            time.sleep(0.03)
        raise AssertionError(f"{path} is {body.get('state')}, not one of {states} after {timeout} s: {body}")

    def transfer_of(self, agreement_id: str, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = ok(self.consumer.post("/management/v3/transferprocesses/request", json={
                "@context": VOCAB, "filterExpression": [
                    {"operandLeft": "contractAgreementId", "operator": "=", "operandRight": agreement_id}]}))
            if found and found[-1]["state"] in ("STARTED", "TERMINATED", "COMPLETED"):
                return found[-1]
            time.sleep(0.03)
        raise AssertionError(f"no started transfer for agreement {agreement_id} after {timeout} s")

    def negotiate_edr(self, asset_id: str = "pcf-NG-WC-400") -> tuple[dict, dict]:
        """``POST /v3/edrs`` → FINALIZED negotiation and its STARTED transfer."""
        created = ok(self.consumer.post("/management/v3/edrs", json=self.contract_request(asset_id)))
        neg = self.wait(self.consumer, f"/management/v3/contractnegotiations/{created['@id']}")
        assert neg["state"] == "FINALIZED", neg
        return neg, self.transfer_of(neg["contractAgreementId"])


class _LazyAsgi(httpx.AsyncBaseTransport):
    def __init__(self, apps: dict, name: str) -> None:
        self.apps, self.name = apps, name

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await httpx.ASGITransport(app=self.apps[self.name]).handle_async_request(request)


def _settings(tmp_path, name: str, other: str, claims: dict = CLAIMS, **extra) -> Settings:  # type: ignore[no-untyped-def]
    ids = {"consumer": CONSUMER_ID, "provider": PROVIDER_ID}
    bpns = {"consumer": "BPNL00000ACHSEAG", "provider": "BPNL0000000NGUSS"}
    return Settings(
        participant_id=ids[name], api_key=API_KEY, database_url=f"sqlite:///{tmp_path / (name + '.db')}",
        token=f"token-of-{name}", server=ServerSettings(public_url=f"http://{name}.test"), transport="httpx",
        peers=[Peer(id=ids[other], token=f"token-of-{other}", dsp_url=f"http://{other}.test/api/dsp/2025-1",
                    bpn=bpns[other], claims=claims)], **extra)


def make_pair(tmp_path, consumer_extra: dict | None = None, provider_extra: dict | None = None,  # type: ignore[no-untyped-def]
              consumer_claims: dict = CLAIMS) -> Iterator[Pair]:
    """The pair; ``consumer_claims`` are what the provider believes of the consumer."""
    apps: dict = {}
    clients: dict = {}
    containers: dict = {}
    for name, other, extra in (("consumer", "provider", consumer_extra), ("provider", "consumer", provider_extra)):
        settings = _settings(tmp_path, name, other, consumer_claims if name == "provider" else CLAIMS, **(extra or {}))
        dsp = DspClient(httpx.AsyncClient(mounts={f"http://{other}.test": _LazyAsgi(apps, other)}, timeout=10))
        containers[name] = build(settings, client=dsp)
        clients[name] = TestClient(create_app(settings, containers[name]), headers={"X-Api-Key": API_KEY})
        apps[name] = clients[name].app
    with clients["provider"] as provider, clients["consumer"] as consumer:
        # the consumer refreshes EDRs at the provider's real token endpoint, in process
        containers["consumer"].consumer_edrs.refresher = TokenRefresher(httpx.Client(transport=provider._transport))
        yield Pair(consumer, provider, containers["consumer"], containers["provider"])


@pytest.fixture
def pair(tmp_path) -> Iterator[Pair]:
    yield from make_pair(tmp_path)
