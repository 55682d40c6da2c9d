"""Two connectors in one process for transfer and EDR tests (tests/harness.py), reaching each other without sockets.

DSP goes through the harness's router (hosts ``consumer.test`` / ``provider.test``); the workers
run only when a test settles. The consumer's EDR refresh client is a sync httpx client whose transport is the
provider's TestClient transport, so a refresh reaches the provider's real token endpoint. Each
side knows the other with the claims the Catena-X policies ask for (static-token mode).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from connector.config import Peer, ServerSettings, Settings
from connector.services.edr_cache import TokenRefresher
from tests.harness import CLAIMS, InProcessPair, start_pair

API_KEY = "transfer-test-key"
CONSUMER_ID, PROVIDER_ID = "did:web:achsen.test", "did:web:nordguss.test"
VOCAB = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}
CX = ["https://w3id.org/catenax/2025/9/policy/context.jsonld", "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
      VOCAB]
PCF = {"id": "urn:uuid:3f9c1c53-7b1e-4a36-9d5e-7a1f0e1c0a01", "productIds": ["urn:mpn:NG-WC-400"],
       "pcf": {"declaredUnitOfMeasurement": "piece", "declaredUnitAmount": 1, "pcfExcludingBiogenicUptake": 12.5}}


def ok(response: httpx.Response, status: int = 200):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    return response.json() if response.content else None


class Pair(InProcessPair):
    """The harness's pair, with the steps of a PCF exchange through the management API."""

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

    def transfer_of(self, agreement_id: str) -> dict:
        """Settle, then the consumer's last transfer under ``agreement_id``, which must have started (or ended)."""
        self.settle()
        found = ok(self.consumer.post("/management/v3/transferprocesses/request", json={
            "@context": VOCAB, "filterExpression": [
                {"operandLeft": "contractAgreementId", "operator": "=", "operandRight": agreement_id}]}))
        assert found and found[-1]["state"] in ("STARTED", "TERMINATED", "COMPLETED"), \
            f"no started transfer for agreement {agreement_id} once settled: {found}"
        return found[-1]

    def negotiate_edr(self, asset_id: str = "pcf-NG-WC-400") -> tuple[dict, dict]:
        """``POST /v3/edrs`` → FINALIZED negotiation and its STARTED transfer."""
        created = ok(self.consumer.post("/management/v3/edrs", json=self.contract_request(asset_id)))
        neg = self.wait(self.consumer, f"/management/v3/contractnegotiations/{created['@id']}")
        assert neg["state"] == "FINALIZED", neg
        return neg, self.transfer_of(neg["contractAgreementId"])


def _settings(tmp_path, name: str, other: str, claims: dict = CLAIMS, **extra) -> Settings:  # type: ignore[no-untyped-def]
    ids = {"consumer": CONSUMER_ID, "provider": PROVIDER_ID}
    bpns = {"consumer": "BPNL00000ACHSEAG", "provider": "BPNL0000000NGUSS"}
    return Settings(
        participant_id=ids[name], api_key=API_KEY, database_url=f"sqlite:///{tmp_path / (name + '.db')}",
        token=f"token-of-{name}", server=ServerSettings(public_url=f"http://{name}.test"), transport="httpx",
        peers=[Peer(id=ids[other], token=f"token-of-{other}", dsp_url=f"http://{other}.test/api/dsp/2025-1",
                    bpn=bpns[other], claims=claims)], **extra)


def make_pair(tmp_path, consumer_extra: dict | None = None, provider_extra: dict | None = None,  # type: ignore[no-untyped-def]
              consumer_claims: dict = CLAIMS, clock: Callable[[], int] | None = None) -> Iterator[Pair]:
    """The pair; ``consumer_claims`` are what the provider believes of the consumer; ``clock`` (ms) is both sides'."""
    extra = {"consumer": consumer_extra or {}, "provider": provider_extra or {}}

    def settings(name: str, other: str) -> Settings:
        return _settings(tmp_path, name, other, consumer_claims if name == "provider" else CLAIMS, **extra[name])

    for two in start_pair(settings, API_KEY, clock):
        # the consumer refreshes EDRs at the provider's real token endpoint, in process
        two.consumer_services.edr_cache.refresher = TokenRefresher(httpx.Client(transport=two.provider._transport))
        yield Pair(two.consumer_party, two.provider_party, two.router)


@pytest.fixture
def pair(tmp_path) -> Iterator[Pair]:
    yield from make_pair(tmp_path)
