"""Factory-X ADR 008 (Asset Administration Shell profile) TEST.mdx scenarios, on one machine.

Provider side: a connector in ``[profile] dataspace = "factory-x"`` read by its peer through the data
plane, with the EDRs the peer negotiated (tests/factoryx/twins.py). Consumer side: our traversal
against providers that break the profile (pytest-httpx, tests/factoryx/misbehaving.py), and the
structural Submodel check (connector.factoryx.submodel_check) on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.factoryx import AAS_303
from connector.factoryx.discovery import DescriptorInvalid, check_descriptors, semantic_id
from connector.factoryx.submodel_check import SubmodelSchemaError, check_submodel, submodel_problems, value_only
from tests.transfers.conftest import ok

from .misbehaving import tombstone_of
from .scenario_map import Runner
from .twins import ASSET_A, MODULE, TYPE_ONLY, Peer, b64, mx_pair


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    for two in mx_pair(tmp_path):
        yield Peer(two)


def _descriptors(peer: Peer, part: str) -> list[dict]:
    return peer.shell_of(part)["submodelDescriptors"]


# --- smoke ----------------------------------------------------------------------------------------

def test_smoke_registry_and_discovery_answer_from_one_base_path(peer: Peer) -> None:
    endpoint, _ = peer.edr()
    registry = peer.get("/shell-descriptors")
    link = b64(json.dumps({"name": "globalAssetId", "value": ASSET_A}))
    discovery = peer.get("/lookup/shells", assetIds=link)
    assert registry.status_code == 200 and discovery.status_code == 200
    assert registry.url.path.removesuffix("/shell-descriptors") == discovery.url.path.removesuffix("/lookup/shells")
    assert registry.url.path.removesuffix("/shell-descriptors") == "/api/public"
    assert discovery.json()["result"] and ok(peer.get("/description")) == {"profiles": AAS_303}


def test_smoke_the_descriptor_of_a_global_asset_id_has_submodel_descriptors_with_semantic_ids(peer: Peer) -> None:
    shell = peer.shell_of(ASSET_A)
    assert shell["globalAssetId"] == ASSET_A
    assert len(shell["submodelDescriptors"]) >= 1
    assert all(semantic_id(d) for d in shell["submodelDescriptors"])


def test_smoke_a_descriptor_endpoint_serves_its_submodel(peer: Peer) -> None:
    for descriptor in _descriptors(peer, ASSET_A):
        [endpoint] = descriptor["endpoints"]
        assert endpoint["interface"] == "SUBMODEL-3.0"
        info = endpoint["protocolInformation"]
        dataset = dict(p.split("=", 1) for p in info["subprotocolBody"].split(";"))["id"]
        answer = peer.get(info["href"], asset_id=dataset)
        assert answer.status_code == 200, answer.text
        assert answer.json()["semanticId"] == descriptor["semanticId"]


def test_smoke_get_submodel_answers_an_idta_submodel_as_application_json(peer: Peer) -> None:
    for descriptor in _descriptors(peer, MODULE):
        info = descriptor["endpoints"][0]["protocolInformation"]
        dataset = dict(p.split("=", 1) for p in info["subprotocolBody"].split(";"))["id"]
        answer = peer.get(info["href"], asset_id=dataset)
        assert answer.headers["content-type"] == "application/json"
        submodel = answer.json()
        assert submodel_problems(submodel) == [] and submodel["modelType"] == "Submodel"
        # its value is the aspect's JSON, which $value answers as it is
        plain = peer.get(info["href"] + "/$value", asset_id=dataset).json()
        assert value_only(submodel) == {k: v for k, v in plain.items() if k != "proof"}


# --- edge -----------------------------------------------------------------------------------------

def test_edge_a_twin_with_one_submodel_has_exactly_one_descriptor(peer: Peer) -> None:
    [descriptor] = _descriptors(peer, TYPE_ONLY)
    assert semantic_id(descriptor) == "urn:samm:io.catenax.part_type_information:2.0.0#PartTypeInformation"
    assert len(descriptor["endpoints"]) >= 1


def test_edge_a_twin_with_three_submodels_has_three_distinct_semantic_ids(peer: Peer) -> None:
    descriptors = _descriptors(peer, MODULE)
    assert len(descriptors) == 3
    assert len({semantic_id(d) for d in descriptors}) == 3
    for descriptor in descriptors:
        href = descriptor["endpoints"][0]["protocolInformation"]["href"]
        assert href.startswith("http://provider.test/api/public/parts/") and href.endswith("/submodel")


def test_edge_discovery_by_a_specific_asset_id_gives_the_global_asset_id_then_the_descriptor(peer: Peer) -> None:
    link = b64(json.dumps({"name": "batchId", "value": "NG-B-2026-11-07"}))  # all the consumer knows
    [aas_id] = ok(peer.get("/lookup/shells", assetIds=link))["result"]
    links = ok(peer.get(f"/lookup/shells/{b64(aas_id)}"))
    [global_id] = [a["value"] for a in links if a["name"] == "globalAssetId"]
    assert global_id == ASSET_A
    assert peer.shell_of(global_id)["id"] == aas_id


def test_edge_every_submodel_descriptor_comes_inside_the_shell_descriptor(peer: Peer) -> None:
    shell = peer.shell_of(MODULE)
    listed = ok(peer.get(f"/shell-descriptors/{b64(shell['id'])}/submodel-descriptors"))["result"]
    assert shell["submodelDescriptors"] == listed and len(listed) == 3
    for descriptor in listed:  # nothing to ask a separate Submodel Registry for
        assert semantic_id(descriptor) and descriptor["endpoints"][0]["protocolInformation"]["href"]
    paged = ok(peer.get("/shell-descriptors", limit="100"))["result"]
    assert next(s for s in paged if s["id"] == shell["id"])["submodelDescriptors"] == listed


# --- negative (the consumer detects the provider's fault) ------------------------------------------

def test_negative_a_descriptor_without_semantic_id_fails_validation(tmp_path: Path, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    shell = {"id": "aas-1", "submodelDescriptors": [
        {"id": "sm-1", "semanticId": {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": "u"}]}},
        {"id": "sm-2", "endpoints": []}]}
    with pytest.raises(DescriptorInvalid, match=r"submodelDescriptors\[1\] \(submodel descriptor 'sm-2'\) has no semanticId"):
        check_descriptors(shell)
    why, answer = tombstone_of(tmp_path, httpx_mock, "no-semantic-id")
    assert why is not None and "validation error" in why and "has no semanticId" in why, why
    assert "cannot be identified" in why and "sm-urn:uuid:" in why
    assert any(s["processingError"]["processStep"] == "SchemaValidation" for s in answer["tombstones"])


def test_negative_discovery_at_another_path_is_an_integration_error(tmp_path: Path, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    why, _ = tombstone_of(tmp_path, httpx_mock, "discovery-elsewhere")
    assert why is not None and why.startswith("integration error:"), why
    assert "serves no Discovery at https://faulty.invalid/api/public/lookup/shells" in why
    assert "no such path /api/public/lookup/shells" in why  # the provider's own words, from its Result


def test_negative_a_non_compliant_submodel_is_a_schema_violation(tmp_path: Path, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SubmodelSchemaError) as raised:
        check_submodel({"modelType": "Submodel", "id": "sm", "submodelElements": [
            {"modelType": "SubmodelElementCollection", "idShort": "a", "value": [
                {"modelType": "Property", "idShort": "9lives", "valueType": "xs:int", "value": 9}]}]}, "the answer")
    assert raised.value.problems == [
        "submodelElements[0].value[0].idShort: expected a letter then letters, digits or _ (at most 128), got '9lives'",
        "submodelElements[0].value[0].value: expected the value as a string, got 9"]
    why, _ = tombstone_of(tmp_path, httpx_mock, "not-a-submodel")
    assert why is not None and why.startswith("schema violation:"), why
    assert "submodelElements[0].valueType" in why and "submodelElements[1].idShort: required" in why


SCENARIOS: dict[str, Runner] = {
    "Provider exposes AAS Registry and Discovery from a common URL path":
        test_smoke_registry_and_discovery_answer_from_one_base_path,
    "AAS Descriptor contains SubmodelDescriptors with semanticId":
        test_smoke_the_descriptor_of_a_global_asset_id_has_submodel_descriptors_with_semantic_ids,
    "SubmodelDescriptor contains endpoint linking to the GetSubmodel interface":
        test_smoke_a_descriptor_endpoint_serves_its_submodel,
    "GetSubmodel interface complies with IDTA-01002-3-0-3 HTTP binding":
        test_smoke_get_submodel_answers_an_idta_submodel_as_application_json,
    "AAS Descriptor contains the minimum required number of SubmodelDescriptors (exactly one)":
        test_edge_a_twin_with_one_submodel_has_exactly_one_descriptor,
    "AAS Descriptor contains multiple SubmodelDescriptors":
        test_edge_a_twin_with_three_submodels_has_three_distinct_semantic_ids,
    "Discovery using specificAssetId when globalAssetId is not known":
        test_edge_discovery_by_a_specific_asset_id_gives_the_global_asset_id_then_the_descriptor,
    "SubmodelDescriptor contains all SubmodelDescriptors as part of AASDescriptor (no separate registry)":
        test_edge_every_submodel_descriptor_comes_inside_the_shell_descriptor,
    "SubmodelDescriptor is missing the semanticId property":
        test_negative_a_descriptor_without_semantic_id_fails_validation,
    "AAS Registry and Discovery endpoints are served from different URL paths (non-compliant)":
        test_negative_discovery_at_another_path_is_an_integration_error,
    "GetSubmodel endpoint returns a non-compliant response body":
        test_negative_a_non_compliant_submodel_is_a_schema_violation,
}
