"""Two real connector processes in ``auth_mode = "dcp"`` negotiate and transfer through the DCP v1.0
presentation flow: each DSP call carries a self-issued token with an access token, and the
receiver queries the caller's Credential Service (announced in its did:web document) for the
credentials the policy at stake needs; refusals carry their reason in the DSP error."""

from __future__ import annotations

import time

import httpx
import pytest

from connector.identity.dcp_messages import DCP_CONTEXT, type_scope
from connector.identity.issuer import Issuer
from connector.identity.sts import BuiltinSts
from connector.identity.wallet import LocalIdentity, Wallet, load_keys
from tests.integration.conftest import Node

from .test_dcp_integration import CONSUMER_BPN, EDC, dataspace, negotiate, provider_log  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
CX = ["https://w3id.org/catenax/2025/9/policy/context.jsonld", "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
      EDC]
PCF = {"id": "urn:uuid:0c1f5a3e-9d1b-4d8e-8a67-2f4b1e9c7d10", "productIds": ["urn:mpn:NG-WC-400"]}


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def identity_of(node: Node) -> LocalIdentity:
    return LocalIdentity(node.participant_id, load_keys(node.workdir / f"{node.name}.keys.json"))


def publish(provider: Node, asset_id: str) -> None:
    # as in Catena-X, the access policy asks membership and a BPN: a catalog request is judged on the
    # default scope (the BPN is in the membership credential)
    ok(provider.management("POST", "/v3/policydefinitions", {
        "@context": CX, "@type": "PolicyDefinition", "@id": "members", "policy": {"@type": "Set", "permission": [
            {"action": "access", "constraint": [{"and": [
                {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
                {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": [CONSUMER_BPN]}]}]}]}}))
    ok(provider.management("POST", "/v3/policydefinitions", {
        "@context": CX, "@type": "PolicyDefinition", "@id": "pcf-usage", "policy": {
            "@type": "Set", "permission": [{"action": "use", "constraint": [{"and": [
                {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
                {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}]}]}]}}))
    ok(provider.management("POST", "/v3/assets", {
        "@context": EDC, "@id": asset_id, "properties": {"name": "PCF"},
        "dataAddress": {"type": "PontisDocument", "document": {"@type": "@json", "@value": PCF}}}))
    ok(provider.management("POST", "/v3/contractdefinitions", {
        "@context": EDC, "@id": f"cd-{asset_id}", "accessPolicyId": "members", "contractPolicyId": "pcf-usage",
        "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
                            "operandRight": asset_id}]}))


def offer_for(consumer: Node, provider: Node, asset_id: str) -> dict:
    catalog = ok(consumer.management("POST", "/v3/catalog/request", {
        "@context": EDC, "counterPartyAddress": provider.dsp, "counterPartyId": provider.participant_id,
        "protocol": "dataspace-protocol-http:2025-1"}))
    datasets = catalog["dataset"] if isinstance(catalog["dataset"], list) else [catalog["dataset"]]
    dataset = next(d for d in datasets if d["@id"] == asset_id)
    offer = dataset["hasPolicy"][0] if isinstance(dataset["hasPolicy"], list) else dataset["hasPolicy"]
    return {**offer, "assigner": provider.participant_id, "target": asset_id}


def wait_transfer(consumer: Node, agreement_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    found: list = []
    while time.monotonic() < deadline:
        found = ok(consumer.management("POST", "/v3/transferprocesses/request", {  # type: ignore[assignment]
            "@context": EDC, "filterExpression": [
                {"operandLeft": "contractAgreementId", "operator": "=", "operandRight": agreement_id}]}))
        if found and found[-1]["state"] in ("STARTED", "TERMINATED", "COMPLETED"):
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no started transfer for {agreement_id}: {found}")


def test_negotiate_and_transfer_through_the_presentation_flow(dataspace):  # noqa: F811
    provider, consumer, _, start = dataspace
    start()
    document = httpx.get(f"{consumer.base}/.well-known/did.json").json()
    [service] = [s for s in document["service"] if s["type"] == "CredentialService"]
    assert service["serviceEndpoint"].endswith(f":{consumer.port}/api/dcp"), service
    publish(provider, "pcf-dcp-1")
    created = ok(consumer.management("POST", "/v3/edrs", {
        "@context": CX, "@type": "ContractRequest", "counterPartyAddress": provider.dsp,
        "protocol": "dataspace-protocol-http:2025-1", "policy": offer_for(consumer, provider, "pcf-dcp-1")}))
    negotiation = consumer.wait_state(created["@id"], ("FINALIZED", "TERMINATED"))
    assert negotiation["state"] == "FINALIZED", negotiation
    transfer = wait_transfer(consumer, negotiation["contractAgreementId"])
    assert transfer["state"] == "STARTED", transfer
    address = ok(consumer.management("GET", f"/v3/edrs/{transfer['@id']}/dataaddress"))
    pulled = httpx.get(address["endpoint"], headers={"Authorization": address["authorization"]}, timeout=10)
    assert pulled.status_code == 200 and pulled.json() == PCF
    # the provider asked the consumer's Credential Service for what the usage policy needs
    log = consumer.process.log.read_text(errors="replace")
    assert f"for {type_scope('MembershipCredential')}, {type_scope('DataExchangeGovernanceCredential')}: 2 credential(s)" \
        in log, log[-3000:]


def test_refusals_carry_their_reason(dataspace):  # noqa: F811
    provider, consumer, issuer, start = dataspace
    start()
    caller = BuiltinSts(identity_of(consumer))
    catalog_request = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}
    # a token for another audience: the provider's DSP error says so
    r = httpx.post(f"{provider.dsp}/catalog/request", json=catalog_request, headers={
        "Authorization": "Bearer " + caller.self_issued_token("did:web:elsewhere.example", scopes=["x"])})
    assert r.status_code == 401 and "wrong_audience" in r.text, r.text
    # the right audience, but the access token grants no MembershipCredential
    r = httpx.post(f"{provider.dsp}/catalog/request", json=catalog_request, headers={
        "Authorization": "Bearer " + caller.self_issued_token(
            provider.participant_id, scopes=[type_scope("BpnCredential")])})
    assert r.status_code == 401 and f"may not read {type_scope('MembershipCredential')}" in r.text, r.text
    assert "presentation query refused with 403" in consumer.process.log.read_text(errors="replace")
    # the Credential Service refuses a query without a token
    r = httpx.post(f"{consumer.base}/api/dcp/presentations/query", json={
        "@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": [type_scope("MembershipCredential")]})
    assert r.status_code == 401 and r.json()["code"] == "missing_token"
    assert provider_log(provider, "DSP caller refused (presentation_query_failed)")
    # a revoked membership: the negotiation ends TERMINATED, the provider's DSP error saying why
    offer = offer_for(consumer, provider, "pcf-NG-WC-400")
    membership = next(e for e in Wallet.load(consumer.workdir / "consumer.credentials.json").entries
                      if "MembershipCredential" in e["type"])
    Issuer.load(issuer.directory).revoke(membership["id"])
    done = negotiate(consumer, provider, offer)
    assert done["state"] == "TERMINATED" and "revoked" in done.get("errorDetail", ""), done
