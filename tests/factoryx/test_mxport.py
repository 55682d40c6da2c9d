"""Factory-X MX-Port (Hercules) profile over the Digital Twin Registry: the answers validate against
the AAS v3.0.3 OpenAPIs (Registry SSP-002, Discovery SSP-001, Submodel SSP-002 / Part 1 Submodel),
and the ADR 008 / 009 TEST.mdx scenarios that run on one machine pass."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import Settings
from connector.factoryx import AAS_31, AAS_303
from connector.services.dataflow.sources import DataRequest
from tests.parts.conftest import ACHSEN, API_KEY, chain

from .aas_openapi import AVAILABLE, P2, component, errors, response_schema

R = "/management/v3/registry"
needs_openapi = pytest.mark.skipif(not AVAILABLE, reason="../shared/reference/aas is absent")


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _client(database_url: str, dataspace: str) -> TestClient:
    settings = Settings(participant_id="did:web:achsen.test", bpn=ACHSEN, name="Achsen AG", api_key=API_KEY,
                        database_url=database_url, server={"public_url": "http://achsen.test"},
                        profile={"dataspace": dataspace})
    return TestClient(create_app(settings, run_worker=False), headers={"X-Api-Key": API_KEY})


@pytest.fixture
def mxport(database_url: str) -> Iterator[TestClient]:
    with _client(database_url, "factory-x") as client:
        assert client.post("/management/v3/parts/import", json=chain("achsen")).status_code == 200
        yield client


def _first_shell(client: TestClient) -> dict:
    return client.get(f"{R}/shell-descriptors", params={"limit": 1}).json()["result"][0]


@needs_openapi
def test_registry_and_discovery_answers_validate_against_the_303_openapi(mxport: TestClient) -> None:
    listing = mxport.get(f"{R}/shell-descriptors").json()
    assert errors(listing, response_schema("registry", "/shell-descriptors")) == []
    shell = listing["result"][0]
    aas = b64(shell["id"])
    one = mxport.get(f"{R}/shell-descriptors/{aas}").json()
    assert errors(one, response_schema("registry", "/shell-descriptors/{aasIdentifier}")) == []
    subs = mxport.get(f"{R}/shell-descriptors/{aas}/submodel-descriptors").json()
    assert errors(subs, response_schema("registry", "/shell-descriptors/{aasIdentifier}/submodel-descriptors")) == []
    sub = mxport.get(f"{R}/shell-descriptors/{aas}/submodel-descriptors/{b64(subs['result'][0]['id'])}").json()
    path = "/shell-descriptors/{aasIdentifier}/submodel-descriptors/{submodelIdentifier}"
    assert errors(sub, response_schema("registry", path)) == []
    description = mxport.get(f"{R}/description").json()
    assert description == {"profiles": AAS_303}
    assert errors(description, response_schema("registry", "/description")) == []
    link = shell["specificAssetIds"][0]
    found = mxport.get(f"{R}/lookup/shells", params={"assetIds": b64(json.dumps(link))}).json()
    assert errors(found, response_schema("discovery", "/lookup/shells")) == []
    links = mxport.get(f"{R}/lookup/shells/{aas}").json()
    assert errors(links, response_schema("discovery", "/lookup/shells/{aasIdentifier}")) == []
    not_found = mxport.get(f"{R}/shell-descriptors/{b64('urn:uuid:nope')}").json()
    assert errors(not_found, {"$ref": f"{P2}#/components/schemas/Result"}) == []


def _submodel(client: TestClient, path: str) -> tuple[int, object]:
    sources = client.app.state.services.parts.serving  # type: ignore[attr-defined]
    reply = asyncio.run(sources.serve_submodel({"aspect": ASPECT}, DataRequest(path=path, consumer={"bpn": ACHSEN})))
    return reply.status, json.loads(reply.body)


ASPECT = "urn:samm:io.catenax.serial_part:3.0.0#SerialPart"


def _aspect_of(shell: dict) -> str:
    return shell["submodelDescriptors"][0]["semanticId"]["keys"][0]["value"]


@needs_openapi
def test_get_submodel_answers_an_idta_submodel(mxport: TestClient) -> None:
    global ASPECT
    shell = _first_shell(mxport)
    ASPECT = _aspect_of(shell)
    status, submodel = _submodel(mxport, f"parts/{shell['globalAssetId']}/submodel")
    assert status == 200 and submodel["modelType"] == "Submodel"
    assert submodel["semanticId"]["keys"][0]["value"] == ASPECT
    assert errors(submodel, component("Submodel")) == []
    status, value = _submodel(mxport, f"parts/{shell['globalAssetId']}/submodel/$value")
    assert status == 200 and "modelType" not in value  # the aspect's own JSON


# --- ADR 008 / 009 TEST.mdx scenarios that run on one machine (no schema files needed) ------------

def test_adr008_registry_and_discovery_share_one_base_path(mxport: TestClient) -> None:
    shell = _first_shell(mxport)
    link = next(a for a in shell["specificAssetIds"] if a["name"] == "manufacturerPartId")
    found = mxport.get(f"{R}/lookup/shells", params={"assetIds": b64(json.dumps(
        {"name": link["name"], "value": link["value"]}))}).json()
    assert shell["id"] in found["result"]
    links = mxport.get(f"{R}/lookup/shells/{b64(shell['id'])}").json()
    assert {"name": "globalAssetId", "value": shell["globalAssetId"]} in links


def test_adr008_every_submodel_descriptor_has_a_semantic_id_and_an_endpoint(mxport: TestClient) -> None:
    for shell in mxport.get(f"{R}/shell-descriptors").json()["result"]:
        for descriptor in shell["submodelDescriptors"]:
            assert descriptor["semanticId"]["keys"][0]["value"]
            assert descriptor["endpoints"][0]["protocolInformation"]["href"].startswith("http")


def test_adr009_the_registry_dataset_is_typed_and_endpoints_name_the_dataset(mxport: TestClient) -> None:
    registry = mxport.get("/management/v3/assets/digital-twin-registry").json()
    types = [v for k, v in registry["properties"].items() if k in ("dct:type", "http://purl.org/dc/terms/type")]
    assert types and "https://w3id.org/catenax/taxonomy#DigitalTwinRegistry" in str(types), registry["properties"]
    for shell in mxport.get(f"{R}/shell-descriptors").json()["result"]:
        for descriptor in shell["submodelDescriptors"]:
            info = descriptor["endpoints"][0]["protocolInformation"]
            body = dict(p.split("=", 1) for p in info["subprotocolBody"].split(";"))
            assert info["subprotocol"] == "DSP" and set(body) == {"id", "dspEndpoint"}
            assert body["dspEndpoint"].endswith("/api/dsp/2025-1") and body["id"]


def test_the_catena_x_profile_keeps_its_31_answers(database_url: str) -> None:
    with _client(database_url, "catena-x") as client:
        client.post("/management/v3/parts/import", json=chain("achsen"))
        assert client.get(f"{R}/description").json() == {"profiles": AAS_31}
        shell = _first_shell(client)
        global ASPECT
        ASPECT = _aspect_of(shell)
        status, value = _submodel(client, f"parts/{shell['globalAssetId']}/submodel")
        assert status == 200 and "modelType" not in value
    with _client(database_url, "both") as client:
        assert client.get(f"{R}/description").json() == {"profiles": AAS_303 + AAS_31}
