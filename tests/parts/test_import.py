"""Importing parts through the management API: twins, descriptors, assets and offers; all or nothing."""

from __future__ import annotations

import copy

from fastapi.testclient import TestClient

from tests.parts.conftest import ACHSEN, MOTORWERKE, chain

MODULE = "urn:uuid:0cca71fb-80ff-4d36-8db1-4751129478be"
BEARINGS = "urn:uuid:6fcbe3b7-3ac0-44d8-8823-cb2b5193347e"
BOM3 = "urn:samm:io.catenax.single_level_bom_as_built:3.0.0#SingleLevelBomAsBuilt"


def counts(client: TestClient) -> tuple[int, int]:
    shells = client.get("/management/v3/registry/shell-descriptors").json()["result"]
    assets = client.post("/management/v3/assets/request", json={}).json()
    return len(shells), len(assets)


def test_the_chain_is_imported_with_twins_descriptors_assets_and_offers(achsen: TestClient) -> None:
    answer = achsen.post("/management/v3/parts/import", json=chain("achsen"))
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    assert sorted(summary["created"]) == sorted([MODULE, "urn:uuid:7802f168-cfff-4ff7-9d56-c6976d7575f2", BEARINGS])
    assert summary["assets"] == ["digital-twin-registry", "submodels-Batch-3.0.1",
                                 "submodels-SerialPart-3.0.1", "submodels-SingleLevelBomAsBuilt-3.0.0",
                                 "submodels-SingleLevelUsageAsBuilt-3.0.0"]
    ids = achsen.get("/management/v3/registry/lookup/shells", params={"assetIds": []}).json()["result"]
    assert len(ids) == 3
    found = achsen.post("/management/v3/registry/lookup/shellsByAssetLink",
                        json=[{"name": "globalAssetId", "value": MODULE}]).json()["result"]
    assert len(found) == 1
    from connector.parts.registry import b64url

    shell = achsen.get(f"/management/v3/registry/shell-descriptors/{b64url(found[0])}").json()
    assert shell["globalAssetId"] == MODULE and shell["assetKind"] == "Instance"
    names = {s["name"]: s for s in shell["specificAssetIds"]}
    assert names["manufacturerId"]["value"] == ACHSEN
    assert names["partInstanceId"]["value"] == "AX-2026-000123"
    assert names["manufacturerPartId"]["value"] == "AX-RM-7"
    assert names["digitalTwinType"]["value"] == "PartInstance"
    assert names["customerPartId"]["externalSubjectId"]["keys"] == [{"type": "GlobalReference", "value": MOTORWERKE}]
    semantic = {d["semanticId"]["keys"][0]["value"]: d for d in shell["submodelDescriptors"]}
    bom = semantic[BOM3]["endpoints"][0]
    assert bom["interface"] == "SUBMODEL-3.0"
    assert bom["protocolInformation"]["href"] == f"http://achsen.test/api/public/parts/{MODULE}/submodel"
    assert bom["protocolInformation"]["subprotocolBody"] == (
        "id=submodels-SingleLevelBomAsBuilt-3.0.0;dspEndpoint=http://achsen.test/api/dsp/2025-1")
    registry = achsen.get("/management/v3/assets/digital-twin-registry").json()
    assert "DigitalTwinRegistry" in str(registry["properties"]), registry
    offer = achsen.get("/management/v3/contractdefinitions/offer-digital-twin-registry").json()
    assert (offer["accessPolicyId"], offer["contractPolicyId"]) == ("part-data-access", "part-data-usage")
    assert achsen.get("/management/v3/policydefinitions/part-data-usage").status_code == 200


def test_a_second_import_updates_in_place(achsen: TestClient) -> None:
    assert achsen.post("/management/v3/parts/import", json=chain("achsen")).status_code == 200
    before = achsen.post("/management/v3/registry/lookup/shellsByAssetLink",
                         json=[{"name": "globalAssetId", "value": MODULE.upper().replace("URN:UUID:", "")}]).json()
    again = achsen.post("/management/v3/parts/import", json=chain("achsen")).json()
    assert again["created"] == [] and len(again["updated"]) == 3
    after = achsen.post("/management/v3/registry/lookup/shellsByAssetLink",
                        json=[{"name": "globalAssetId", "value": MODULE}]).json()
    assert before["result"] == after["result"]  # same twin, found by either spelling of its id
    assert counts(achsen) == (3, 5)


def test_an_invalid_payload_names_index_and_field_and_stores_nothing(achsen: TestClient) -> None:
    items = chain("achsen")
    bad = copy.deepcopy(items)
    bad[4]["payload"]["childItems"][1]["quantity"]["unit"] = "unit:bucket"
    answer = achsen.post("/management/v3/parts/import", json=bad)
    assert answer.status_code == 400
    error = answer.json()[0]
    assert error["path"] == "[4].payload.childItems[1].quantity.unit"
    assert "unit:piece" in error["message"] and "'unit:bucket'" in error["message"]
    assert counts(achsen) == (0, 0)
    bad = copy.deepcopy(items)
    bad[0]["visibleto"] = bad[0].pop("visibleTo")
    error = achsen.post("/management/v3/parts/import", json=bad).json()[0]
    assert error["path"] == "[0].visibleto" and "closest: visibleTo" in error["message"]
    bad = copy.deepcopy(items)
    bad[2]["visibleTo"] = ["Motorwerke"]
    assert achsen.post("/management/v3/parts/import", json=bad).json()[0]["path"] == "[2].visibleTo[0]"
    assert counts(achsen) == (0, 0)


def test_a_relationship_of_an_unknown_part_is_404_naming_it(achsen: TestClient) -> None:
    items = [i for i in chain("achsen") if i["aspect"] == BOM3][:1]
    answer = achsen.post("/management/v3/parts/import", json=items)
    assert answer.status_code == 404
    assert MODULE in answer.json()[0]["message"] and "SerialPart" in answer.json()[0]["message"]
    assert counts(achsen) == (0, 0)


def test_a_named_policy_must_exist(achsen: TestClient) -> None:
    answer = achsen.post("/management/v3/parts/import?accessPolicy=nordguss-only", json=chain("achsen"))
    assert answer.status_code == 404 and "nordguss-only" in answer.json()[0]["message"]
    assert counts(achsen) == (0, 0)
    achsen.post("/management/v3/parts/import", json=chain("achsen"))
    answer = achsen.post("/management/v3/parts/import?accessPolicy=part-data-acess", json=chain("achsen"))
    assert "closest: part-data-access" in answer.json()[0]["message"]
    misspelt = achsen.post("/management/v3/parts/import?acessPolicy=part-data-access", json=chain("achsen"))
    assert misspelt.status_code == 400 and "closest: accessPolicy" in misspelt.json()[0]["message"]


def test_an_empty_file_offers_the_registry_alone(achsen: TestClient) -> None:
    answer = achsen.post("/management/v3/parts/import", json=[])
    assert answer.status_code == 200 and answer.json()["assets"] == ["digital-twin-registry"]
    assert counts(achsen) == (0, 1)
    refused = achsen.post("/management/v3/parts/import", json={"aspect": "x"})
    assert refused.status_code == 400 and "JSON array" in refused.json()[0]["message"]
