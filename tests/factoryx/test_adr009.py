"""Factory-X ADR 009 (discovery of AAS services via DSP) TEST.mdx scenarios, on one machine.

Provider side: two in-process connectors, the provider in ``[profile] dataspace = "factory-x"``
(tests/factoryx/twins.py): its catalog, the negotiated EDR as the registry's base URL, granular access
to shell descriptors (403 saying why; Catena-X keeps its 404), two registries in one catalog, and no
registry URL before authentication. Consumer side: connector.factoryx.discovery, as our traversal
uses it against providers that break the ADR (pytest-httpx, tests/factoryx/misbehaving.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.factoryx.discovery import (
    NoDspEndpoint,
    RegistryNotOffered,
    SubprotocolBodyError,
    dsp_endpoint,
    parse_subprotocol_body,
    registries,
)
from tests.transfers.conftest import VOCAB, Pair, ok

from .misbehaving import CHILD, tombstone_of
from .scenario_map import Runner
from .twins import ASSET_A, ASSET_B, PROVIDER_PUBLIC, TAXONOMY_DTR, Peer, b64, datasets, dct_type, mx_pair

REGISTRY = "digital-twin-registry"


@pytest.fixture
def two(tmp_path: Path) -> Iterator[Pair]:
    yield from mx_pair(tmp_path)


def _catalog(two: Pair) -> list[dict]:
    return datasets(ok(two.consumer.post("/management/v3/catalog/request", json={
        "@context": VOCAB, "counterPartyAddress": two.provider_dsp, "protocol": "dataspace-protocol-http:2025-1"})))


def _hidden_aas_id(two: Pair) -> str:
    """The hidden twin's AAS id, as its owner sees it."""
    link = b64(json.dumps({"name": "globalAssetId", "value": ASSET_B}))
    [aas_id] = ok(two.provider.get("/management/v3/registry/lookup/shells", params={"assetIds": link}))["result"]
    return aas_id


# --- smoke ----------------------------------------------------------------------------------------

def test_smoke_the_catalog_offers_the_registry_typed_digital_twin_registry(two: Pair) -> None:
    [registry] = [d for d in _catalog(two) if d["@id"] == REGISTRY]
    assert dct_type(registry) == TAXONOMY_DTR
    assert registries(_catalog(two), two.provider_dsp) == [registry]


def test_smoke_after_negotiation_the_edr_is_the_base_of_shell_descriptors_and_lookup(two: Pair) -> None:
    peer = Peer(two)
    endpoint, token = peer.edr()
    assert endpoint == PROVIDER_PUBLIC + "/api/public" and token
    assert peer.get(endpoint + "/shell-descriptors").status_code == 200
    link = b64(json.dumps({"name": "globalAssetId", "value": ASSET_A}))
    assert ok(peer.get(endpoint + "/lookup/shells", assetIds=link))["result"]


def test_smoke_submodel_descriptor_endpoints_carry_the_dsp_subprotocol(two: Pair) -> None:
    peer = Peer(two)
    endpoint, _ = peer.edr()
    descriptors = peer.shell_of(ASSET_A)["submodelDescriptors"]
    assert descriptors
    for descriptor in descriptors:
        info = descriptor["endpoints"][0]["protocolInformation"]
        assert info["subprotocol"] == "DSP"
        keys = [pair.split("=", 1)[0] for pair in info["subprotocolBody"].split(";")]
        assert keys == ["id", "dspEndpoint"]
        found = dsp_endpoint(descriptor)
        assert found.href == info["href"] and found.href.startswith(endpoint + "/parts/")
        assert found.target.dsp_endpoint == two.provider_dsp


def test_smoke_negotiating_the_dataset_the_body_names_gives_the_submodel(two: Pair) -> None:
    peer = Peer(two)
    descriptor = peer.shell_of(ASSET_A)["submodelDescriptors"][0]
    found = dsp_endpoint(descriptor)
    offered = [d["@id"] for d in _catalog(two)]  # the catalog at dspEndpoint (the provider's DSP URL)
    assert found.target.dsp_endpoint == two.provider_dsp and found.target.dataset_id in offered
    answer = peer.get(found.href, asset_id=found.target.dataset_id)
    assert answer.status_code == 200 and answer.json()["semanticId"] == descriptor["semanticId"]
    # the registry's EDR does not open the submodel: its own dataset's agreement does
    through_registry = peer.get(found.href)
    assert through_registry.status_code == 404 and "not a registry path" in through_registry.text


# --- edge -----------------------------------------------------------------------------------------

def test_edge_a_shell_the_contract_does_not_cover_is_403_with_the_reason(two: Pair) -> None:
    peer = Peer(two)
    shell_a = peer.shell_of(ASSET_A)  # its specificAssetIds name the consumer's BPN
    assert ok(peer.get(f"/shell-descriptors/{b64(shell_a['id'])}"))["globalAssetId"] == ASSET_A
    hidden = _hidden_aas_id(two)
    for path in (f"/shell-descriptors/{b64(hidden)}", f"/shell-descriptors/{b64(hidden)}/submodel-descriptors",
                 f"/lookup/shells/{b64(hidden)}"):
        refused = peer.get(path)
        assert refused.status_code == 403, (path, refused.text)
        [message] = refused.json()["messages"]
        assert message["messageType"] == "Error" and message["code"] == "403"
        assert "not shared with BPNL00000ACHSEAG" in message["text"] and "externalSubjectId" in message["text"]
    link = b64(json.dumps({"name": "globalAssetId", "value": ASSET_B}))
    assert ok(peer.get("/lookup/shells", assetIds=link))["result"] == []  # look-ups list only what one may see
    assert hidden not in {s["id"] for s in ok(peer.get("/shell-descriptors"))["result"]}
    submodel = peer.get(f"/parts/{ASSET_B}/submodel", asset_id="submodels-PartTypeInformation-2.0.0")
    assert submodel.status_code == 403 and ASSET_B in submodel.json()["messages"][0]["text"]
    unknown = peer.get(f"/shell-descriptors/{b64('urn:uuid:no-such-shell')}")
    assert unknown.status_code == 404


def test_a_caller_without_a_verified_bpn_is_told_why_too(two: Pair) -> None:
    from connector.parts.registry import Viewer
    from connector.parts.registry_api import answer

    registry = two.provider_services.parts.registry
    hidden = f"shell-descriptors/{b64(_hidden_aas_id(two))}"
    status, body = answer(registry, Viewer(None), "GET", hidden, "", b"", writable=False, granular=True)
    assert status == 403 and "no BPN was verified for this caller's transfer" in body["messages"][0]["text"]
    status, body = answer(registry, Viewer(None), "GET", hidden, "", b"", writable=False)
    assert status == 404 and body["messages"][0]["text"].startswith("no shell descriptor")


def test_the_catena_x_profile_answers_a_shell_it_may_not_see_as_unknown(tmp_path: Path) -> None:
    for two in mx_pair(tmp_path, "catena-x"):
        peer = Peer(two)
        hidden = _hidden_aas_id(two)
        refused = peer.get(f"/shell-descriptors/{b64(hidden)}")
        assert refused.status_code == 404  # CX-0002: a peer learns nothing of twins it may not see
        assert refused.json()["messages"][0]["text"] == f"no shell descriptor {hidden!r}"
        assert peer.get(f"/parts/{ASSET_B}/submodel", asset_id="submodels-PartTypeInformation-2.0.0").status_code == 404


def test_edge_two_registries_in_one_catalog_each_negotiable(two: Pair) -> None:
    ok(two.provider.post("/management/v3/assets", json={
        "@context": VOCAB, "@id": "digital-twin-registry-plant-2",
        "properties": {"http://purl.org/dc/terms/type": {"@id": TAXONOMY_DTR},
                       "http://purl.org/dc/terms/title": "Digital Twin Registry of plant 2"},
        "dataAddress": {"type": "PontisRegistry"}}))
    ok(two.provider.post("/management/v3/contractdefinitions", json={
        "@context": VOCAB, "@id": "offer-dtr-plant-2", "accessPolicyId": "part-data-access",
        "contractPolicyId": "part-data-usage", "assetsSelector": [{
            "operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
            "operandRight": "digital-twin-registry-plant-2"}]}))
    found = registries(_catalog(two), two.provider_dsp)
    assert sorted(d["@id"] for d in found) == [REGISTRY, "digital-twin-registry-plant-2"]
    assert all(dct_type(d) == TAXONOMY_DTR for d in found)
    peer = Peer(two)
    for dataset in found:  # each on its own agreement and EDR
        answer = peer.get("/shell-descriptors", asset_id=dataset["@id"])
        assert answer.status_code == 200 and answer.json()["result"]
    assert peer.edrs[REGISTRY][1] != peer.edrs["digital-twin-registry-plant-2"][1]


def test_edge_subprotocol_body_is_parsed_on_equals_and_semicolons() -> None:
    found = parse_subprotocol_body("id=my-dataset-id;dspEndpoint=https://provider.example.com/protocol", "'sm-1'")
    assert found.dataset_id == "my-dataset-id"
    assert found.dsp_endpoint == "https://provider.example.com/protocol"
    # a value may hold "=", the order is free, a trailing ";" says nothing
    found = parse_subprotocol_body("dspEndpoint=https://p.example/dsp?x=1;id=a=b;", "'sm-1'")
    assert (found.dataset_id, found.dsp_endpoint) == ("a=b", "https://p.example/dsp?x=1")
    for body, said in (("id=a;dspEndpoint=https://p.example;id=b", "key 'id' given twice"),
                       ("id=a;dspEndpiont=https://p.example", "unknown key 'dspEndpiont' (closest: dspEndpoint)"),
                       ("id=a;https://p.example", "is not a key=value pair"),
                       ("id=a;dspEndpoint=ftp://p.example", "dspEndpoint is not an http(s) URL"),
                       ("id=;dspEndpoint=https://p.example", "has an empty 'id' key")):
        with pytest.raises(SubprotocolBodyError, match="configuration error") as raised:
            parse_subprotocol_body(body, "'sm-1'")
        assert said in str(raised.value) and "submodel descriptor 'sm-1'" in str(raised.value)


# --- negative -------------------------------------------------------------------------------------

def test_negative_a_registry_without_the_type_annotation_is_not_discovered(tmp_path: Path, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    untyped = [{"@id": REGISTRY, "http://purl.org/dc/terms/title": "DTR"}, {"@id": "submodels-x"}]
    with pytest.raises(RegistryNotOffered, match="no Digital Twin Registry offered") as raised:
        registries(untyped, "https://p.example/dsp")
    assert f"dataset {REGISTRY!r} looks like one but lacks the annotation" in str(raised.value)
    why, answer = tombstone_of(tmp_path, httpx_mock, "untyped-registry")
    assert why is not None and "(discovery failure: no Digital Twin Registry offered in the catalog at " \
        "https://faulty.invalid/api/dsp/2025-1" in why, why
    assert f"dataset {REGISTRY!r} looks like one but lacks the annotation" in why
    assert why.startswith("no offer of the Digital Twin Registry visible to BPNL00000MOTORWK")


def test_negative_no_dsp_endpoint_in_the_descriptor_fails_access(tmp_path: Path, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    descriptor = {"id": "sm-9", "endpoints": [{"interface": "SUBMODEL-3.0", "protocolInformation": {
        "href": "https://p.example/submodel", "subprotocol": "HTTP"}}]}
    with pytest.raises(NoDspEndpoint, match=r"'sm-9' has no endpoint with protocolInformation.subprotocol DSP "
                                            r"\(found 1 endpoint\(s\), subprotocols \['HTTP'\]\)"):
        dsp_endpoint(descriptor)
    why, _ = tombstone_of(tmp_path, httpx_mock, "no-dsp-endpoint")
    assert why is not None and "has no endpoint with protocolInformation.subprotocol DSP" in why, why
    assert "the DSP endpoint and dataset id of the submodel cannot be derived" in why


def test_negative_without_authentication_no_registry_url(two: Pair) -> None:
    dsp = two.provider_dsp.removeprefix(PROVIDER_PUBLIC)
    anonymous = {"Authorization": ""}
    catalog = two.provider.post(f"{dsp}/catalog/request", headers=anonymous, json={
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"})
    registry = two.provider.get("/api/public/shell-descriptors", headers=anonymous)
    forged = two.provider.get("/api/public/lookup/shells", headers={"Authorization": "Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln"})
    # the transfer that would carry the registry's URL: DSP tells an unauthenticated caller of no process
    transfer = two.provider.post(f"{dsp}/transfers/request", headers=anonymous, json={
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "TransferRequestMessage",
        "consumerPid": "urn:uuid:c1", "agreementId": "urn:uuid:a1", "format": "HttpData-PULL",
        "callbackAddress": "http://consumer.test/api/dsp/2025-1"})
    assert [r.status_code for r in (catalog, registry, forged, transfer)] == [401, 401, 401, 404]
    assert transfer.json()["reason"][0] == "no such process"
    for refused in (catalog, registry, forged, transfer):
        said = refused.text + json.dumps(dict(refused.headers))
        assert "/api/public" not in said and "provider.test" not in said, said


def test_negative_a_subprotocol_body_without_id_is_a_configuration_error(tmp_path: Path, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SubprotocolBodyError) as raised:
        parse_subprotocol_body("dspEndpoint=https://provider.example.com", "'sm-7'")
    assert str(raised.value) == ("configuration error: submodel descriptor 'sm-7': protocolInformation.subprotocolBody "
                                 "'dspEndpoint=https://provider.example.com' has no 'id' key (expected id=<dataset id>;"
                                 "dspEndpoint=<DSP URL>)")
    why, _ = tombstone_of(tmp_path, httpx_mock, "no-id-key")
    assert why is not None and why.startswith("configuration error: submodel descriptor 'sm-urn:uuid:"), why
    assert "has no 'id' key" in why


SCENARIOS: dict[str, Runner] = {
    "Provider advertises Digital Twin Registry as Dataset in DSP Catalog":
        test_smoke_the_catalog_offers_the_registry_typed_digital_twin_registry,
    "Consumer obtains DTR URL after successful authentication":
        test_smoke_after_negotiation_the_edr_is_the_base_of_shell_descriptors_and_lookup,
    "SubmodelDescriptor endpoint contains DSP subprotocol information":
        test_smoke_submodel_descriptor_endpoints_carry_the_dsp_subprotocol,
    "Consumer accesses Submodel via DSP using subprotocolBody metadata":
        test_smoke_negotiating_the_dataset_the_body_names_gives_the_submodel,
    "Access to shell-descriptors is enforced at granular level":
        test_edge_a_shell_the_contract_does_not_cover_is_403_with_the_reason,
    "Catalog contains multiple DTR Datasets from different organizational units":
        test_edge_two_registries_in_one_catalog_each_negotiable,
    "subprotocolBody key-value pairs are correctly parsed with \"=\" assignment and \";\" separator":
        test_edge_subprotocol_body_is_parsed_on_equals_and_semicolons,
    "DTR Dataset missing the required dc:type annotation":
        test_negative_a_registry_without_the_type_annotation_is_not_discovered,
    "SubmodelDescriptor endpoint missing DSP subprotocol information":
        test_negative_no_dsp_endpoint_in_the_descriptor_fails_access,
    "Consumer requests DTR before completing authentication":
        test_negative_without_authentication_no_registry_url,
    "subprotocolBody is malformed (missing required key)":
        test_negative_a_subprotocol_body_without_id_is_a_configuration_error,
}


@pytest.mark.integration
def test_our_traversal_reads_factory_x_providers_end_to_end(tmp_path: Path) -> None:
    """The example supply chain's three connectors, all in ``factory-x``: Motorwerke's job finds each
    supplier's registry by its dct:type, follows each subprotocolBody, negotiates, and reads every BOM
    as an IDTA Submodel (checked, then its value): the same tree as in Catena-X."""
    from connector.cli.launch import start_connector, wait_ready
    from tests.provenance.conftest import copy_example, imported
    from tests.provenance.test_supply_chain import (
        MOTORWERKE,
        hidden_from_motorwerke,
        imported_edges,
        returned_edges,
        run,
    )

    companies = copy_example(tmp_path / "example")
    try:
        for company in companies.values():
            with company.config.open("a") as config:
                config.write('\n[profile]\ndataspace = "factory-x"\n')
            company.process = start_connector(company.name, company.config, tmp_path / f"{company.name}.log",
                                              company.management.removesuffix("/management"))
        for company in companies.values():
            wait_ready(company.process, timeout=120)  # type: ignore[arg-type]
            assert company.call("POST", "/v3/parts/import", json=imported(company.name)).status_code == 200
        union: set = set()
        for item in imported("motorwerke"):
            if "childItems" not in item["payload"]:
                continue
            answer = run(companies["motorwerke"], {"globalAssetId": item["payload"]["globalAssetId"],
                                                   "bpn": MOTORWERKE}, direction="downward")
            assert answer["job"]["state"] == "COMPLETED"
            stones = {s["catenaXId"]: s["processingError"]["errorDetail"] for s in answer["tombstones"]}
            assert all("not visible to BPNL00000MOTORWK" in why for why in stones.values()), stones
            assert {s.removeprefix("urn:uuid:") for s in stones} <= hidden_from_motorwerke()
            union |= returned_edges(answer)
        assert union == imported_edges("childItems")
    finally:
        for company in companies.values():
            if company.process is not None:
                company.process.stop()


def test_our_consumer_looks_in_every_registry_a_provider_offers(tmp_path: Path, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    """Two typed registries in one catalog (ADR 009), the twin only in the second: found there."""
    why, answer = tombstone_of(tmp_path, httpx_mock, "second-registry")
    assert why is None, why
    assert {r["linkedItem"]["childCatenaXId"] for r in answer["relationships"]} == {CHILD}
    assert any(n["catenaXId"] == CHILD for n in answer["nodes"])
