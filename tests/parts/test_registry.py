"""The Digital Twin Registry: AAS descriptor CRUD and paging for the owner, look-ups, and BPN visibility."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from connector.parts.registry import OWNER, Registry, Viewer, view
from connector.store import Database
from tests.parts.conftest import ACHSEN, MOTORWERKE, NGUSS

R = "/management/v3/registry"
GLOBAL = "urn:uuid:5b1d0e8a-3c2f-4a6b-9d7e-1f0a2b3c4d5e"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def subject(*bpns: str) -> dict:
    return {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": b} for b in bpns]}


def shell(aas_id: str = "urn:uuid:aa000000-0000-4000-8000-000000000001", **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"id": aas_id, "globalAssetId": GLOBAL, "idShort": "rearAxle", "assetKind": "Instance",
            "specificAssetIds": [
                {"name": "manufacturerPartId", "value": "AX-RM-7", "externalSubjectId": subject("PUBLIC_READABLE")},
                {"name": "partInstanceId", "value": "AX-2026-000123", "externalSubjectId": subject(MOTORWERKE, NGUSS)},
                {"name": "customerPartId", "value": "MW-RA-2210", "externalSubjectId": subject(MOTORWERKE)},
                {"name": "van", "value": "secret"}],
            "submodelDescriptors": [submodel("urn:uuid:bb000000-0000-4000-8000-000000000001")], **extra}


def submodel(sm_id: str) -> dict:
    return {"id": sm_id, "semanticId": {"type": "ExternalReference", "keys": [
        {"type": "GlobalReference", "value": "urn:samm:io.catenax.serial_part:3.0.1#SerialPart"}]},
        "endpoints": [{"interface": "SUBMODEL-3.0", "protocolInformation": {
            "href": "https://backend.example.com/serial", "subprotocol": "DSP",
            "subprotocolBody": "id=serial;dspEndpoint=https://achsen.example.com/api/dsp/2025-1"}}]}


def message(response) -> str:  # type: ignore[no-untyped-def]
    body = response.json()
    assert body["messages"][0]["messageType"] == "Error" and body["messages"][0]["code"] == str(response.status_code)
    return body["messages"][0]["text"]


def test_shell_descriptors_crud(achsen: TestClient) -> None:
    doc = shell()
    created = achsen.post(f"{R}/shell-descriptors", json=doc)
    assert created.status_code == 201 and created.json()["specificAssetIds"] == doc["specificAssetIds"]
    duplicate = achsen.post(f"{R}/shell-descriptors", json=doc)
    assert duplicate.status_code == 409 and doc["id"] in message(duplicate)
    path = f"{R}/shell-descriptors/{b64(doc['id'])}"
    assert achsen.get(path).json()["idShort"] == "rearAxle"
    assert achsen.put(path, json={**doc, "idShort": "axle"}).status_code == 204
    assert achsen.get(path).json()["idShort"] == "axle"
    assert achsen.get(path).json()["submodelDescriptors"] == doc["submodelDescriptors"]
    mismatch = achsen.put(path, json={**doc, "id": "urn:uuid:other"})
    assert mismatch.status_code == 400 and "differs" in message(mismatch)
    twin = achsen.post(f"{R}/shell-descriptors", json={**shell("urn:uuid:aa000000-0000-4000-8000-000000000002"),
                                                       "submodelDescriptors": []})
    assert twin.status_code == 409 and "globalAssetId" in message(twin)  # one twin per part
    assert achsen.delete(path).status_code == 204
    gone = achsen.get(path)
    assert gone.status_code == 404 and doc["id"] in message(gone)
    assert achsen.put(path, json=doc).status_code == 201  # PUT creates


def test_submodel_descriptors_crud(achsen: TestClient) -> None:
    doc = shell()
    achsen.post(f"{R}/shell-descriptors", json=doc)
    base = f"{R}/shell-descriptors/{b64(doc['id'])}/submodel-descriptors"
    second = submodel("urn:uuid:bb000000-0000-4000-8000-000000000002")
    assert achsen.post(base, json=second).status_code == 201
    assert achsen.post(base, json=second).status_code == 409
    listed = achsen.get(base, params={"limit": 1}).json()
    assert len(listed["result"]) == 1 and listed["paging_metadata"]["cursor"]
    rest = achsen.get(base, params={"limit": 1, "cursor": listed["paging_metadata"]["cursor"]}).json()
    assert [d["id"] for d in listed["result"] + rest["result"]] == [doc["submodelDescriptors"][0]["id"], second["id"]]
    one = f"{base}/{b64(second['id'])}"
    changed = {**second, "idShort": "serialPart"}
    assert achsen.put(one, json=changed).status_code == 204
    assert achsen.get(one).json()["idShort"] == "serialPart"
    assert achsen.delete(one).status_code == 204
    assert achsen.get(one).status_code == 404
    unknown_shell = achsen.post(f"{R}/shell-descriptors/{b64('urn:uuid:nope')}/submodel-descriptors", json=second)
    assert unknown_shell.status_code == 404 and "urn:uuid:nope" in message(unknown_shell)


def test_paging_by_cursor_visits_every_shell_once(achsen: TestClient) -> None:
    ids = [f"urn:uuid:aa000000-0000-4000-8000-00000000000{i}" for i in range(7)]
    for i, aas_id in enumerate(ids):
        doc = {**shell(aas_id), "globalAssetId": f"urn:uuid:5b1d0e8a-3c2f-4a6b-9d7e-1f0a2b3c4d5{i}",
               "submodelDescriptors": []}
        assert achsen.post(f"{R}/shell-descriptors", json=doc).status_code == 201
    seen, cursor = [], None
    while True:
        page = achsen.get(f"{R}/shell-descriptors", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [d["id"] for d in page["result"]]
        cursor = page["paging_metadata"].get("cursor")
        if not cursor:
            break
    assert seen == sorted(ids)
    assert achsen.get(f"{R}/shell-descriptors", params={"assetKind": "Type"}).json()["result"] == []
    future = achsen.get(f"{R}/shell-descriptors", params={"createdAfter": "2999-01-01T00:00:00Z"}).json()
    assert future["result"] == []


def test_bad_requests_name_what_was_wrong(achsen: TestClient) -> None:
    unknown = achsen.post(f"{R}/shell-descriptors", json={**shell(), "globalAssetID": "x"})
    assert unknown.status_code == 400 and "closest: 'globalAssetId'" in message(unknown)
    public = shell()
    public["specificAssetIds"][1]["externalSubjectId"] = subject("PUBLIC_READABLE")
    refused = achsen.post(f"{R}/shell-descriptors", json=public)
    assert refused.status_code == 400 and "partInstanceId" in message(refused)
    no_endpoint = achsen.post(f"{R}/shell-descriptors", json={**shell(), "submodelDescriptors": [
        {**submodel("urn:uuid:x"), "endpoints": []}]})
    assert no_endpoint.status_code == 400 and "submodelDescriptors[0].endpoints" in message(no_endpoint)
    assert "closest: limit" in message(achsen.get(f"{R}/shell-descriptors", params={"limt": 2}))
    assert "base64url" in message(achsen.get(f"{R}/shell-descriptors/%%%"))
    assert "integer" in message(achsen.get(f"{R}/shell-descriptors", params={"limit": "ten"}))
    assert "not a registry path" in message(achsen.get(f"{R}/shells"))
    links = achsen.post(f"{R}/lookup/shellsByAssetLink", json=[{"key": "van", "value": "x"}])
    assert links.status_code == 400 and "name" in message(links)


def test_lookup_by_query_and_by_links(achsen: TestClient) -> None:
    achsen.post(f"{R}/shell-descriptors", json=shell())
    one = b64(json.dumps({"name": "partInstanceId", "value": "AX-2026-000123"}))
    two = b64(json.dumps({"name": "globalAssetId", "value": GLOBAL.removeprefix("urn:uuid:").upper()}))
    assert len(achsen.get(f"{R}/lookup/shells", params=[("assetIds", one), ("assetIds", two)]).json()["result"]) == 1
    wrong = b64(json.dumps({"name": "partInstanceId", "value": "AX-2026-999999"}))
    assert achsen.get(f"{R}/lookup/shells", params=[("assetIds", one), ("assetIds", wrong)]).json()["result"] == []
    assert len(achsen.post(f"{R}/lookup/shellsByAssetLink", json=[{"name": "van", "value": "secret"}]).json()["result"]) == 1
    plain = json.dumps([{"name": "partInstanceId", "value": "AX-2026-000123"}])  # older clients send JSON as is
    assert len(achsen.get(f"{R}/lookup/shells", params={"assetIds": plain}).json()["result"]) == 1


@pytest.fixture
def registry(db: Database) -> Registry:
    db.migrate()
    reg = Registry(db, clock=lambda: 1_000)
    reg.create_shell(shell())
    return reg


def test_a_peer_sees_only_what_names_its_bpn(registry: Registry) -> None:
    doc = shell()
    motorwerke = registry.shell(Viewer(MOTORWERKE), doc["id"])
    assert {s["name"] for s in motorwerke["specificAssetIds"]} == {"manufacturerPartId", "partInstanceId", "customerPartId"}
    keys = {s["name"]: [k["value"] for k in s["externalSubjectId"]["keys"]] for s in motorwerke["specificAssetIds"]}
    assert keys["partInstanceId"] == [MOTORWERKE]  # the other reader's BPN is cut out
    assert motorwerke["globalAssetId"] == GLOBAL and motorwerke["idShort"] == "rearAxle"
    public_only = registry.shell(Viewer(ACHSEN), doc["id"])  # only the public manufacturerPartId names it
    assert set(public_only) == {"id", "specificAssetIds", "submodelDescriptors"}
    assert [s["name"] for s in public_only["specificAssetIds"]] == ["manufacturerPartId"]
    assert registry.lookup(Viewer(ACHSEN), [{"name": "globalAssetId", "value": GLOBAL}])["result"] == []
    assert registry.lookup(Viewer(ACHSEN), [{"name": "manufacturerPartId", "value": "AX-RM-7"}])["result"] == [doc["id"]]
    assert registry.lookup(Viewer(NGUSS), [{"name": "van", "value": "secret"}])["result"] == []  # closed by default
    assert registry.lookup(OWNER, [{"name": "van", "value": "secret"}])["result"] == [doc["id"]]
    assert registry.lookup(Viewer(None), [])["result"] == [doc["id"]]  # through the public id only
    listed = registry.shells(Viewer(MOTORWERKE))["result"]
    assert [d["id"] for d in listed] == [doc["id"]] and listed[0]["submodelDescriptors"] == doc["submodelDescriptors"]
    [public] = registry.shells(Viewer("BPNL00000000OTHR"))["result"]  # through the public manufacturerPartId
    assert set(public) == {"id", "specificAssetIds", "submodelDescriptors"}
    hidden = {**doc, "specificAssetIds": [s for s in doc["specificAssetIds"] if s["name"] == "van"]}
    assert view(hidden, [], Viewer(MOTORWERKE)) is None
