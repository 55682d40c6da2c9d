"""Two real connector processes in dcp mode: DIDs and credentials alone let them negotiate.

The provider also hosts the data space's issuer (``identity.issuer_dir``): its DID document at
``/issuer/did.json`` and its revocation list at ``/issuer/status-list``. Each connector serves
its own did:web document, resolves the other's over plain http (``allow_insecure_did_web``, as
both are on localhost) and presents its credentials in a self-issued ID token on every DSP call.
A revoked credential or an untrusted issuer gets the consumer a 404 at the provider's DSP edge,
so its negotiation ends TERMINATED with a reason, and the provider logs why.
"""

from __future__ import annotations

import json

import pytest

from connector.cli.identity import identity_section
from connector.identity.issuer import Issuer, provision
from connector.identity.wallet import Wallet, new_key_file
from tests.harness import Node, settle

pytestmark = pytest.mark.integration

PROVIDER_BPN, CONSUMER_BPN = "BPNL0000000NGUSS", "BPNL00000ACHSEAG"
EDC = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}


def seed(path, asset_id: str) -> None:
    path.write_text(json.dumps({
        "policies": [
            {"@id": "access", "policy": {"permission": [{"action": "access", "constraint": [{"and": [
                {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
                {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": [CONSUMER_BPN]}]}]}]}},
            {"@id": "usage", "policy": {"permission": [{"action": "use", "constraint": [{"and": [
                {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
                {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}]}]}]}}],
        "assets": [{"@id": asset_id, "properties": {"http://purl.org/dc/terms/title": "casting PCF"}}],
        "contractDefinitions": [{"@id": "cd-1", "accessPolicyId": "access", "contractPolicyId": "usage",
                                 "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id",
                                                     "operator": "=", "operandRight": asset_id}]}],
    }))


def dcp_section(node: Node, trusted: list[str], issuer_dir=None) -> str:
    # status lists are not cached, so a revocation bites at the next call
    return identity_section("dcp", node.workdir / f"{node.name}.keys.json",
                            node.workdir / f"{node.name}.credentials.json", trusted, insecure_localhost=True,
                            issuer_dir=issuer_dir, status_list_cache_seconds=0)


@pytest.fixture
def dataspace(tmp_path):
    """(provider, consumer, issuer, start): both keyed and credentialed; start(trusted) writes configs and runs them."""
    provider, consumer = Node("provider", tmp_path), Node("consumer", tmp_path)
    issuer = Issuer.init(tmp_path / "issuer", f"did:web:localhost%3A{provider.port}:issuer")
    for node, bpn in ((provider, PROVIDER_BPN), (consumer, CONSUMER_BPN)):
        new_key_file(tmp_path / f"{node.name}.keys.json", node.participant_id)
        provision(issuer, node.participant_id, bpn=bpn, wallet=Wallet(tmp_path / f"{node.name}.credentials.json"))
    seed(tmp_path / "seed.json", "pcf-NG-WC-400")

    def start(provider_trusts: list[str] | None = None) -> None:
        trusted = [issuer.did]
        provider.write_config([consumer], extra="\n".join([
            f'seed_file = "{tmp_path / "seed.json"}"', "retry_base_seconds = 0.2",
            dcp_section(provider, provider_trusts or trusted, tmp_path / "issuer")]))
        consumer.write_config([provider], extra="retry_base_seconds = 0.2\n" + dcp_section(consumer, trusted))
        provider.start()
        consumer.start()

    yield provider, consumer, issuer, start
    for node in (provider, consumer):
        if node.process is not None:
            node.process.stop()


def catalog_offer(consumer: Node, provider: Node) -> dict:
    r = consumer.management("POST", "/v3/catalog/request", {
        "@context": EDC, "counterPartyAddress": provider.dsp, "counterPartyId": provider.participant_id,
        "protocol": "dataspace-protocol-http:2025-1"})
    assert r.status_code == 200, r.text
    dataset = r.json()["dataset"]
    dataset = dataset[0] if isinstance(dataset, list) else dataset
    offer = dataset["hasPolicy"]
    offer = offer[0] if isinstance(offer, list) else offer
    return {**offer, "assigner": provider.participant_id, "target": dataset["@id"]}


def negotiate(consumer: Node, provider: Node, offer: dict) -> dict:
    r = consumer.management("POST", "/v3/contractnegotiations", {
        "@context": EDC, "counterPartyAddress": provider.dsp, "counterPartyId": provider.participant_id,
        "protocol": "dataspace-protocol-http:2025-1", "policy": offer})
    assert r.status_code == 200, r.text
    return consumer.wait_state(r.json()["@id"], ("FINALIZED", "TERMINATED"))


def provider_log(provider: Node, needle: str, timeout: float = 5) -> str:
    assert provider.process is not None
    log = provider.process.log

    def mentioned() -> str | None:
        text = log.read_text(errors="replace")
        return text if needle in text else None

    return settle(until=mentioned, timeout=timeout, what=lambda: (
        f"the provider's log to mention {needle!r}:\n{log.read_text(errors='replace')[-3000:]}"))


def test_connectors_negotiate_with_dids_and_credentials_alone(dataspace):
    provider, consumer, issuer, start = dataspace
    start()
    # both serve their did:web documents; the provider also serves the issuer's
    import httpx

    assert httpx.get(f"{consumer.base}/.well-known/did.json").json()["id"] == consumer.participant_id
    assert httpx.get(f"{provider.base}/issuer/did.json").json()["id"] == issuer.did
    offer = catalog_offer(consumer, provider)  # the access policy saw Membership and the BPN from credentials
    done = negotiate(consumer, provider, offer)
    assert done["state"] == "FINALIZED", done
    agreement = consumer.management("GET", f"/v3/contractnegotiations/{done['@id']}/agreement").json()
    held = provider.management("GET", f"/v3/contractagreements/{agreement['@id']}").json()
    assert held["consumerId"] == consumer.participant_id  # the provider knows the consumer by its DID


def test_a_revoked_credential_is_refused_at_the_dsp_edge(dataspace):
    provider, consumer, issuer, start = dataspace
    start()
    offer = catalog_offer(consumer, provider)
    wallet = Wallet.load(consumer.workdir / "consumer.credentials.json")
    membership = next(e for e in wallet.entries if "MembershipCredential" in e["type"])
    Issuer.load(issuer.directory).revoke(membership["id"])
    done = negotiate(consumer, provider, offer)
    assert done["state"] == "TERMINATED", done
    assert "404" in done.get("errorDetail", ""), done
    log = provider_log(provider, "revoked")
    assert "DSP caller refused (revoked)" in log


def test_an_untrusted_issuer_is_refused_at_the_dsp_edge(dataspace):
    provider, consumer, _, start = dataspace
    start(provider_trusts=["did:web:other-dataspace.example:issuer"])
    r = consumer.management("POST", "/v3/catalog/request", {
        "@context": EDC, "counterPartyAddress": provider.dsp, "counterPartyId": provider.participant_id,
        "protocol": "dataspace-protocol-http:2025-1"})
    assert r.status_code != 200
    offer = {"@id": "cd-1:pcf-NG-WC-400:usage", "@type": "Offer", "assigner": provider.participant_id,
             "target": "pcf-NG-WC-400", "permission": [{"action": "use"}]}
    done = negotiate(consumer, provider, offer)
    assert done["state"] == "TERMINATED" and "404" in done.get("errorDetail", ""), done
    assert "not a trusted issuer" in provider_log(provider, "untrusted_issuer")
