"""Providers that break ADR 008 / 009 one way each, mocked with pytest-httpx, and a consumer (Motorwerke,
``[profile] dataspace = "factory-x"``) whose traversal job meets them: each fault becomes the tombstone
of the part it hides, with the consumer's reason.

The job starts at ``ROOT`` at a well-behaved provider (``good``), whose BOM (an IDTA Submodel) names
one child at the provider with the fault under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config.dataspaces import ProfileSettings
from connector.factoryx.submodel import as_submodel
from connector.parts.models import normal_id
from connector.store.models import TransferProcess
from tests.provenance.test_bad_peers import BOM_URN, REGISTRY, FakePeer, hold_edrs, settings, stones, wait

SECOND_REGISTRY = "digital-twin-registry-unit-2"
ROOT, CHILD = "urn:uuid:00000000-0000-4000-8000-00000000f001", "urn:uuid:00000000-0000-4000-8000-00000000f002"


class Provider(FakePeer):
    """A provider's connector and twin registry as seen from outside (tests/provenance/test_bad_peers.py),
    serving its BOMs as IDTA Submodels, with at most one fault."""

    def __init__(self, name: str, bpn: str, fault: str | None = None) -> None:
        super().__init__(name, bpn)
        self.fault = fault

    def catalog(self) -> dict:
        catalog = super().catalog()
        [registry] = [d for d in catalog["dataset"] if d["@id"] == REGISTRY]
        registry["http://purl.org/dc/terms/title"] = "Digital Twin Registry"
        if self.fault == "untyped-registry":
            del registry["http://purl.org/dc/terms/type"]
        if self.fault == "second-registry":  # another unit's registry, which alone holds the twin
            catalog["dataset"].append({**registry, "@id": SECOND_REGISTRY, "hasPolicy": [{"@id": "offer-dtr-2"}]})
        return catalog

    def shell(self, pid: str) -> dict:
        shell = super().shell(pid)
        [descriptor] = shell["submodelDescriptors"]
        info = descriptor["endpoints"][0]["protocolInformation"]
        if self.fault == "no-semantic-id":
            del descriptor["semanticId"]
        elif self.fault == "no-dsp-endpoint":
            del info["subprotocol"], info["subprotocolBody"]
        elif self.fault == "no-id-key":
            info["subprotocolBody"] = f"dspEndpoint={self.dsp}"
        return shell

    def submodel(self, pid: str) -> dict:
        if self.fault == "not-a-submodel":  # a Property without its valueType, an element without idShort
            return {"modelType": "Submodel", "id": "sm-" + pid, "submodelElements": [
                {"modelType": "Property", "idShort": "globalAssetId", "value": pid},
                {"modelType": "SubmodelElementList", "typeValueListElement": "SubmodelElementCollection"}]}
        children = self.boms[pid]
        assert isinstance(children, list)
        bom = {"globalAssetId": pid, "childItems": [
            {"globalAssetId": child, "businessPartner": bpn, "quantity": {"value": 1, "unit": "unit:piece"},
             "hasAlternatives": False, "createdOn": "2026-11-12T09:30:00Z"} for child, bpn in children]}
        return as_submodel(bom, "sm-" + pid, BOM_URN)

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if self.fault == "second-registry" and "/lookup/shells" in path:
            # the first registry (/api/public) knows no twin; the second (/api/public/unit-2) has them all
            if not path.startswith("/api/public/unit-2/"):
                return httpx.Response(200, json={"paging_metadata": {}, "result": []})
            request = httpx.Request(request.method, str(request.url).replace("/unit-2/", "/"), headers=request.headers)
        elif self.fault == "second-registry" and "/unit-2/" in path:
            request = httpx.Request(request.method, str(request.url).replace("/unit-2/", "/"), headers=request.headers)
        if request.headers.get("authorization") == "token-" + self.name:
            if path.endswith("/lookup/shells") and self.fault == "discovery-elsewhere":
                # the Discovery is at /discovery, not under the registry's path
                return httpx.Response(404, json={"messages": [{"messageType": "Error", "code": "404",
                                                               "text": f"no such path {path}"}]})
            if path.endswith("/submodel"):
                return httpx.Response(200, json=self.submodel(unquote(path.split("/parts/", 1)[1].removesuffix("/submodel"))))
        return super().answer(request)


class Providers:
    """A good provider holding ``ROOT`` and the faulty one holding ``CHILD``."""

    def __init__(self, fault: str) -> None:
        self.good = Provider("good", "BPNL000000GOOD01")
        self.bad = Provider("faulty", "BPNL00000FAULTY1", fault)
        self.good.boms = {ROOT: [(CHILD, self.bad.bpn)]}
        self.bad.boms = {CHILD: []}
        self.peers = {p.name: p for p in (self.good, self.bad)}

    def route(self, request: httpx.Request) -> httpx.Response:
        return self.peers[str(urlsplit(str(request.url)).hostname).split(".")[0]].answer(request)


def consumer(tmp_path: Path, providers: Providers) -> Iterator[TestClient]:
    """Motorwerke's connector in the Factory-X profile, holding EDRs for each provider's registry and BOMs."""
    made = settings(f"sqlite:///{tmp_path / 'motorwerke.db'}", providers)  # type: ignore[arg-type]
    made = made.model_copy(update={"profile": ProfileSettings(dataspace="factory-x")})
    with TestClient(create_app(made), headers={"X-Api-Key": "bad-peers-key"}) as client:
        hold_edrs(client, providers)  # type: ignore[arg-type]
        if providers.bad.fault == "second-registry":
            hold_second_registry(client, providers.bad)
        yield client


def hold_second_registry(client: TestClient, provider: Provider) -> None:
    """The EDR we hold for ``provider``'s second registry: its data plane path is ``/api/public/unit-2``."""
    with client.app.state.services.db.write() as session:  # type: ignore[attr-defined]
        session.add(TransferProcess(
            id="tp-unit-2", role="CONSUMER", state="STARTED", consumer_pid="tp-unit-2", provider_pid="p-tp-unit-2",
            counterparty_id=provider.did, counterparty_address=provider.dsp, agreement_id="agreement-unit-2",
            asset_id=SECOND_REGISTRY, transfer_type="HttpData-PULL", data_address={
                "endpointType": "https://w3id.org/idsa/v4.1/HTTP", "endpoint": provider.public + "/unit-2",
                "endpointProperties": [{"name": "authorization", "value": "token-" + provider.name}]},
            created_at=1, updated_at=1))


def tombstone_of(tmp_path: Path, httpx_mock, fault: str) -> tuple[str | None, dict]:  # type: ignore[no-untyped-def]
    """Run a job from ROOT against a provider with ``fault``: the reason CHILD became a tombstone (None
    when it did not), and the job's answer."""
    providers = Providers(fault)
    httpx_mock.add_callback(providers.route, is_reusable=True, is_optional=True)
    for client in consumer(tmp_path, providers):
        job = client.post("/management/irs/jobs", json={"key": {"globalAssetId": ROOT, "bpn": providers.good.bpn}})
        assert job.status_code == 201, job.text
        answer = wait(client, job.json()["id"])
    assert answer["job"]["state"] == "COMPLETED", answer["job"]
    found = stones(answer)
    assert normal_id(ROOT) not in found, found  # the good provider's part is read
    return found.get(normal_id(CHILD)), answer


def step_of(answer: dict, part: str) -> str:
    return next(s["processingError"]["processStep"] for s in answer["tombstones"]
                if normal_id(s["catenaXId"]) == normal_id(part))
