"""Three real connectors: peers read each other's registries and submodels through the data plane.

Each company imports its part of the example chain (examples/supply-chain/parts). A peer negotiates
the registry asset, looks twins up with its EDR, and reads a submodel through the aspect's asset:
it sees only what names its BPN (as the provider verified it), and the submodel carries the
provider's signature.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connector.cli.configs import render_config
from connector.config import DSP_PATH
from connector.identity.did import DidResolver
from connector.identity.wallet import new_key_file
from connector.parts.models import read_submodel
from connector.services.documents import verify_received
from tests.dataplane.backend import ThreadServer
from tests.harness import CLAIMS as PEER_CLAIMS
from tests.harness import Node, settle
from tests.parts.conftest import ACHSEN, MOTORWERKE, NGUSS, chain

pytestmark = pytest.mark.integration

VOCAB = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}
MODULE = "urn:uuid:0cca71fb-80ff-4d36-8db1-4751129478be"
BATCH = "urn:uuid:2c8de93a-06b0-46d8-8e4f-13f94294402c"
VEHICLE = "urn:uuid:d11ac71b-7efe-43f2-83d0-77a8b56ea1e7"
BOM3 = "urn:samm:io.catenax.single_level_bom_as_built:3.0.0#SingleLevelBomAsBuilt"


@dataclass
class Company(Node):
    """A connector of the integration tests' kind, with a BPN and a key to sign what it serves."""

    bpn: str = ""

    @property
    def did(self) -> str:
        return self.participant_id

    def start_with(self, peers: list[Company]) -> None:
        key_file = self.workdir / f"{self.name}.keys.json"
        new_key_file(key_file, self.did)
        self.config.write_text(render_config(
            participant_id=self.did, bpn=self.bpn, name=self.name, port=self.port,
            database_url=f"sqlite:///{self.workdir / (self.name + '.db')}", api_key=self.api_key, token=self.token,
            peers=[{"id": p.did, "token": p.token, "dsp_url": p.dsp, "bpn": p.bpn, "claims": PEER_CLAIMS}
                   for p in peers]) + f'\n[identity]\nkey_file = "{key_file}"\nallow_insecure_did_web = true\n'
                                     '[dataplane]\nallowlist = ["127.0.0.1"]\n')
        self.start()

    def call(self, method: str, path: str, body: object = None) -> httpx.Response:
        return self.management(method, path, body)  # type: ignore[arg-type]

    def edr(self, provider: Company, asset_id: str) -> tuple[str, str]:
        """Negotiate ``asset_id`` at ``provider`` and start a pull: the data plane's endpoint and token."""
        catalog = self.call("POST", "/v3/catalog/request", {"@context": VOCAB, "counterPartyAddress":
                            provider.dsp, "counterPartyId": provider.did,
                            "protocol": "dataspace-protocol-http:2025-1"}).json()
        datasets = catalog.get("dataset", [])
        datasets = datasets if isinstance(datasets, list) else [datasets]
        [dataset] = [d for d in datasets if d["@id"] == asset_id]
        offer = dataset["hasPolicy"][0] if isinstance(dataset["hasPolicy"], list) else dataset["hasPolicy"]
        started = self.call("POST", "/v3/edrs", {"@context": VOCAB, "counterPartyAddress": provider.dsp,
                                                 "protocol": "dataspace-protocol-http:2025-1",
                                                 "policy": {**offer, "assigner": provider.did, "target": asset_id}})
        assert started.status_code == 200, started.text
        negotiation = started.json()["@id"]
        found = settle(until=lambda: self.call("POST", "/v3/edrs/request", {"@context": VOCAB, "filterExpression": [
            {"operandLeft": "contractNegotiationId", "operator": "=", "operandRight": negotiation}]}).json(),
            timeout=30, what=f"{self.name} to hold an EDR for {asset_id} at {provider.name}")
        address = self.call("GET", f"/v3/edrs/{found[0]['transferProcessId']}/dataaddress").json()
        return address["endpoint"], address["authorization"]

    def sees_offer(self, provider: Company, asset_id: str) -> bool:
        catalog = self.call("POST", "/v3/catalog/request", {"@context": VOCAB, "counterPartyAddress":
                            provider.dsp, "counterPartyId": provider.did,
                            "protocol": "dataspace-protocol-http:2025-1"}).json()
        datasets = catalog.get("dataset", [])
        datasets = datasets if isinstance(datasets, list) else [datasets]
        return any(d["@id"] == asset_id for d in datasets)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # type: ignore[no-untyped-def]
    workdir = tmp_path_factory.mktemp("parts-world")
    companies = {n: Company(n, workdir, bpn=b) for n, b in (("nordguss", NGUSS), ("achsen", ACHSEN),
                                                         ("motorwerke", MOTORWERKE))}
    try:
        for company in companies.values():
            company.start_with([c for c in companies.values() if c is not company])
        nordguss = companies["nordguss"]
        # Nordguss offers part data to Achsen only (the demo's story)
        policy = {"@context": ["https://w3id.org/catenax/2025/9/policy/context.jsonld",
                               "https://w3id.org/dspace/2025/1/odrl-profile.jsonld", VOCAB],
                  "@id": "achsen-only", "policy": {"@type": "Set", "permission": [{"action": "access", "constraint": [
                      {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": [ACHSEN]}]}]}}
        assert nordguss.call("POST", "/v3/policydefinitions", policy).status_code == 200
        assert nordguss.call("POST", "/v3/parts/import?accessPolicy=achsen-only", chain("nordguss")).status_code == 200
        for name in ("achsen", "motorwerke"):
            answer = companies[name].call("POST", "/v3/parts/import", chain(name))
            assert answer.status_code == 200, answer.text
        yield companies
    finally:
        for company in companies.values():
            if company.process is not None:
                company.process.stop()


def test_a_customer_finds_a_twin_and_reads_its_signed_bom(world) -> None:  # type: ignore[no-untyped-def]
    motorwerke, achsen = world["motorwerke"], world["achsen"]
    endpoint, token = motorwerke.edr(achsen, "digital-twin-registry")
    auth = {"Authorization": token}
    link = b64(json.dumps({"name": "globalAssetId", "value": MODULE}))
    found = httpx.get(f"{endpoint}/lookup/shells", params={"assetIds": link}, headers=auth).json()
    assert len(found["result"]) == 1
    by_part_id = httpx.post(f"{endpoint}/lookup/shellsByAssetLink", headers=auth,
                            json=[{"name": "partInstanceId", "value": "AX-2026-000123"}]).json()
    assert by_part_id["result"] == found["result"]
    shell = httpx.get(f"{endpoint}/shell-descriptors/{b64(found['result'][0])}", headers=auth).json()
    assert shell["globalAssetId"] == MODULE
    [bom] = [d for d in shell["submodelDescriptors"] if d["semanticId"]["keys"][0]["value"] == BOM3]
    info = bom["endpoints"][0]["protocolInformation"]
    body = dict(part.split("=", 1) for part in info["subprotocolBody"].split(";"))
    assert body["dspEndpoint"] == achsen.base + DSP_PATH
    sub_endpoint, sub_token = motorwerke.edr(achsen, body["id"])
    assert info["href"].startswith(sub_endpoint)
    document = httpx.get(info["href"] + "/$value", headers={"Authorization": sub_token}).json()
    result = verify_received(document, DidResolver(allow_insecure_localhost=True, fetch=lambda url: httpx.get(url, timeout=10).content).resolve_key, achsen.did)
    assert result is not None and result.ok, result and result.reason
    children = {(r.child_id, r.bpn, r.quantity) for r in read_submodel(BOM3, document)}
    imported = next(i["payload"] for i in chain("achsen") if i["aspect"] == BOM3 and i["payload"]["catenaXId"] == MODULE)
    assert children == {(c["catenaXId"], c["businessPartner"], c["quantity"]["value"]) for c in imported["childItems"]}
    # the same EDR reads that aspect of the other module too: one negotiation per supplier and aspect
    other = "urn:uuid:7802f168-cfff-4ff7-9d56-c6976d7575f2"
    assert httpx.get(info["href"].replace(MODULE, other), headers={"Authorization": sub_token}).status_code == 200
    # peers only read: a write through the data plane is refused, saying where writes go
    refused = httpx.put(f"{endpoint}/shell-descriptors/{b64(found['result'][0])}", headers=auth, json=shell)
    assert refused.status_code == 405 and "management API" in refused.json()["messages"][0]["text"]


def test_what_names_another_bpn_is_invisible(world) -> None:  # type: ignore[no-untyped-def]
    motorwerke, achsen, nordguss = world["motorwerke"], world["achsen"], world["nordguss"]
    # Motorwerke's vehicles name no one: closed by default, Achsen finds nothing
    endpoint, token = achsen.edr(motorwerke, "digital-twin-registry")
    auth = {"Authorization": token, "Edc-Bpn": MOTORWERKE}  # a BPN header the caller chose counts for nothing
    link = [{"name": "globalAssetId", "value": VEHICLE}]
    assert httpx.post(f"{endpoint}/lookup/shellsByAssetLink", headers=auth, json=link).json()["result"] == []
    assert httpx.get(f"{endpoint}/shell-descriptors", headers=auth).json()["result"] == []
    own = motorwerke.call("POST", "/v3/registry/lookup/shellsByAssetLink", link).json()["result"]
    assert len(own) == 1  # the owner sees it
    assert httpx.get(f"{endpoint}/shell-descriptors/{b64(own[0])}", headers=auth).status_code == 404
    sub_endpoint, sub_token = achsen.edr(motorwerke, "submodels-SingleLevelBomAsBuilt-4.0.0")
    denied = httpx.get(f"{sub_endpoint}/parts/{VEHICLE}/submodel", headers={"Authorization": sub_token})
    assert denied.status_code == 404 and VEHICLE in denied.json()["messages"][0]["text"]
    # Nordguss's offers are hidden from Motorwerke; Achsen sees them and finds the batch
    assert not motorwerke.sees_offer(nordguss, "digital-twin-registry")
    endpoint, token = achsen.edr(nordguss, "digital-twin-registry")
    found = httpx.post(f"{endpoint}/lookup/shellsByAssetLink", headers={"Authorization": token},
                       json=[{"name": "batchId", "value": "NG-B-2026-11-07"}]).json()["result"]
    shell = httpx.get(f"{endpoint}/shell-descriptors/{b64(found[0])}", headers={"Authorization": token}).json()
    assert shell["globalAssetId"] == BATCH
    assert {s["name"] for s in shell["specificAssetIds"]} >= {"manufacturerId", "batchId", "manufacturerPartId"}


def test_once_the_access_policy_names_it_the_customer_climbs_from_the_batch(world) -> None:  # type: ignore[no-untyped-def]
    motorwerke, nordguss = world["motorwerke"], world["nordguss"]
    policy = nordguss.call("GET", "/v3/policydefinitions/achsen-only").json()
    widened = {"@context": ["https://w3id.org/catenax/2025/9/policy/context.jsonld",
                            "https://w3id.org/dspace/2025/1/odrl-profile.jsonld", VOCAB],
               "@id": "achsen-only", "policy": {"@type": "Set", "permission": [{"action": "access", "constraint": [
                   {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf",
                    "rightOperand": [ACHSEN, MOTORWERKE]}]}]}}
    assert policy["@id"] == "achsen-only"
    assert nordguss.call("PUT", "/v3/policydefinitions/achsen-only", widened).status_code == 204
    assert motorwerke.sees_offer(nordguss, "digital-twin-registry")
    endpoint, token = motorwerke.edr(nordguss, "digital-twin-registry")
    found = httpx.post(f"{endpoint}/lookup/shellsByAssetLink", headers={"Authorization": token},
                       json=[{"name": "globalAssetId", "value": BATCH}]).json()["result"]
    shell = httpx.get(f"{endpoint}/shell-descriptors/{b64(found[0])}", headers={"Authorization": token}).json()
    usage = "urn:samm:io.catenax.single_level_usage_as_built:4.0.0#SingleLevelUsageAsBuilt"
    [descriptor] = [d for d in shell["submodelDescriptors"] if d["semanticId"]["keys"][0]["value"] == usage]
    href = descriptor["endpoints"][0]["protocolInformation"]["href"]
    _, sub_token = motorwerke.edr(nordguss, "submodels-SingleLevelUsageAsBuilt-4.0.0")
    document = httpx.get(href, headers={"Authorization": sub_token}).json()
    parents = {(r.parent_id, r.bpn) for r in read_submodel(usage, document)}
    assert parents == {(MODULE, ACHSEN), ("urn:uuid:7802f168-cfff-4ff7-9d56-c6976d7575f2", ACHSEN)}


def test_a_submodel_on_the_company_backend_is_reached_the_same_way(world) -> None:  # type: ignore[no-untyped-def]
    """An HttpData asset still serves submodels: the registry points at it like at our own ones."""
    achsen, motorwerke = world["achsen"], world["motorwerke"]

    async def aspect(request: Request) -> JSONResponse:
        return JSONResponse({"from": "backend", "path": request.path_params["rest"]})

    backend = ThreadServer(Starlette(routes=[Route("/aspects/{rest:path}", aspect)])).start()
    try:
        asset = {"@context": VOCAB, "@id": "backend-quality", "properties": {"name": "quality data from our backend"},
                 "dataAddress": {"@type": "DataAddress", "type": "HttpData", "baseUrl": backend.url + "/aspects",
                                 "proxyPath": "true"}}
        assert achsen.call("POST", "/v3/assets", asset).status_code == 200
        assert achsen.call("POST", "/v3/contractdefinitions", {
            "@context": VOCAB, "@id": "offer-backend-quality", "accessPolicyId": "part-data-access",
            "contractPolicyId": "part-data-usage", "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id",
                                                                       "operator": "=", "operandRight": "backend-quality"}]
        }).status_code == 200
        shell = {"id": "urn:uuid:9e0c8d4f-2b1a-4c3d-8e5f-6a7b8c9d0e1f", "specificAssetIds": [
            {"name": "partInstanceId", "value": "AX-Q-77", "externalSubjectId": {
                "type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": MOTORWERKE}]}}],
            "submodelDescriptors": [{"id": "urn:uuid:1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b", "semanticId": {
                "type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": "urn:example:quality:1.0.0"}]},
                "endpoints": [{"interface": "SUBMODEL-3.0", "protocolInformation": {
                    "href": f"{achsen.base}/api/public/AX-Q-77", "subprotocol": "DSP",
                    "subprotocolBody": f"id=backend-quality;dspEndpoint={achsen.dsp}"}}]}]}
        assert achsen.call("POST", "/v3/registry/shell-descriptors", shell).status_code == 201
        endpoint, token = motorwerke.edr(achsen, "digital-twin-registry")
        [found] = httpx.post(f"{endpoint}/lookup/shellsByAssetLink", headers={"Authorization": token},
                             json=[{"name": "partInstanceId", "value": "AX-Q-77"}]).json()["result"]
        seen = httpx.get(f"{endpoint}/shell-descriptors/{b64(found)}", headers={"Authorization": token}).json()
        info = seen["submodelDescriptors"][0]["endpoints"][0]["protocolInformation"]
        asset_id = dict(p.split("=", 1) for p in info["subprotocolBody"].split(";"))["id"]
        _, backend_token = motorwerke.edr(achsen, asset_id)
        got = httpx.get(info["href"], headers={"Authorization": backend_token})
        assert got.status_code == 200 and got.json() == {"from": "backend", "path": "AX-Q-77"}
    finally:
        backend.stop()
