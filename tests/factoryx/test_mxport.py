"""Factory-X MX-Port (Hercules) profile over the Digital Twin Registry: the answers validate against
the AAS v3.0.3 OpenAPIs (Registry SSP-002, Discovery SSP-001, Submodel SSP-002 / Part 1 Submodel), and
our structural Submodel check agrees with the official schema. The ADR 008 / 009 TEST.mdx scenarios
are tests/factoryx/test_adr008.py and test_adr009.py."""

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
from connector.factoryx.submodel_check import submodel_problems
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


def _submodel(client: TestClient, path: str, aspect: str) -> tuple[int, object]:
    sources = client.app.state.services.parts.serving  # type: ignore[attr-defined]
    reply = asyncio.run(sources.serve_submodel({"aspect": aspect}, DataRequest(path=path, consumer={"bpn": ACHSEN})))
    return reply.status, json.loads(reply.body)


def _aspect_of(shell: dict) -> str:
    return shell["submodelDescriptors"][0]["semanticId"]["keys"][0]["value"]


@needs_openapi
def test_get_submodel_answers_an_idta_submodel(mxport: TestClient) -> None:
    for shell in mxport.get(f"{R}/shell-descriptors").json()["result"]:
        for descriptor in shell["submodelDescriptors"]:
            aspect = descriptor["semanticId"]["keys"][0]["value"]
            status, submodel = _submodel(mxport, f"parts/{shell['globalAssetId']}/submodel", aspect)
            assert status == 200 and isinstance(submodel, dict) and submodel["modelType"] == "Submodel"
            assert submodel["semanticId"]["keys"][0]["value"] == aspect
            assert errors(submodel, component("Submodel")) == [] and submodel_problems(submodel) == []
            status, value = _submodel(mxport, f"parts/{shell['globalAssetId']}/submodel/$value", aspect)
            assert status == 200 and isinstance(value, dict) and "modelType" not in value  # the aspect's own JSON


def test_the_catena_x_profile_keeps_its_31_answers(database_url: str) -> None:
    with _client(database_url, "catena-x") as client:
        client.post("/management/v3/parts/import", json=chain("achsen"))
        assert client.get(f"{R}/description").json() == {"profiles": AAS_31}
        shell = _first_shell(client)
        status, value = _submodel(client, f"parts/{shell['globalAssetId']}/submodel", _aspect_of(shell))
        assert status == 200 and isinstance(value, dict) and "modelType" not in value
    with _client(database_url, "both") as client:
        assert client.get(f"{R}/description").json() == {"profiles": AAS_303 + AAS_31}


# --- our structural Submodel check (connector.factoryx.submodel_check) against the official schema --

def _prop(name: str | None, **extra: object) -> dict:
    return {**({"idShort": name} if name else {}), "modelType": "Property", "valueType": "xs:string", **extra}


GOOD = {"modelType": "Submodel", "id": "urn:uuid:1", "idShort": "Bom", "kind": "Instance",
        "semanticId": {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": "urn:x#Bom"}]},
        "submodelElements": [_prop("a", value="1"), {"idShort": "b", "modelType": "SubmodelElementCollection",
                                                     "value": [_prop("c")]},
                             {"idShort": "d", "modelType": "SubmodelElementList", "typeValueListElement": "Property",
                              "valueTypeListElement": "xs:string", "value": [_prop(None, value="x")]},
                             {"idShort": "r", "modelType": "Range", "valueType": "xs:int", "min": "1", "max": "2"},
                             {"idShort": "m", "modelType": "MultiLanguageProperty",
                              "value": [{"language": "en", "text": "hi"}]}]}
# each a way out of the metamodel that the official 3.0.3 schema sees too, by the path we name
BAD = {
    "modelType": ({**GOOD, "modelType": "Shell"}, "modelType"),
    "no id": ({k: v for k, v in GOOD.items() if k != "id"}, "id"),
    "long id": ({**GOOD, "id": "u" * 2001}, "id"),
    "idShort with a dash": ({**GOOD, "idShort": "bom-1"}, "idShort"),
    "idShort with a digit first": ({**GOOD, "submodelElements": [_prop("1a")]}, "submodelElements[0].idShort"),
    "kind": ({**GOOD, "kind": "Type"}, "kind"),
    "reference type": ({**GOOD, "semanticId": {"type": "Global", "keys": [{"type": "GlobalReference", "value": "u"}]}},
                       "semanticId.type"),
    "no keys": ({**GOOD, "semanticId": {"type": "ExternalReference", "keys": []}}, "semanticId.keys"),
    "key type": ({**GOOD, "semanticId": {"type": "ExternalReference", "keys": [{"type": "Iri", "value": "u"}]}},
                 "semanticId.keys[0].type"),
    "no elements": ({**GOOD, "submodelElements": []}, "submodelElements"),
    "element kind": ({**GOOD, "submodelElements": [{"idShort": "a", "modelType": "Widget"}]},
                     "submodelElements[0].modelType"),
    "no valueType": ({**GOOD, "submodelElements": [{"idShort": "a", "modelType": "Property"}]},
                     "submodelElements[0].valueType"),
    "valueType": ({**GOOD, "submodelElements": [_prop("a", valueType="xs:text")]}, "submodelElements[0].valueType"),
    "value not a string": ({**GOOD, "submodelElements": [_prop("a", value=3)]}, "submodelElements[0].value"),
    "empty collection": ({**GOOD, "submodelElements": [{"idShort": "a", "modelType": "SubmodelElementCollection",
                                                        "value": []}]}, "submodelElements[0].value"),
    "nested": ({**GOOD, "submodelElements": [{"idShort": "a", "modelType": "SubmodelElementCollection",
                                              "value": [_prop("b", valueType="string")]}]},
               "submodelElements[0].value[0].valueType"),
    "list without its type": ({**GOOD, "submodelElements": [{"idShort": "a", "modelType": "SubmodelElementList"}]},
                              "submodelElements[0].typeValueListElement"),
    "language strings": ({**GOOD, "submodelElements": [{"idShort": "m", "modelType": "MultiLanguageProperty",
                                                        "value": [{"text": "hi"}]}]}, "submodelElements[0].value"),
}
# what the metamodel's constraints forbid and the schema cannot say: ours refuses, the schema lets pass
STRICTER = {
    "AASd-117 idShort required": {**GOOD, "submodelElements": [{"modelType": "Property", "valueType": "xs:string"}]},
    "AASd-022 duplicate idShort": {**GOOD, "submodelElements": [_prop("a"), _prop("a")]},
    "AASd-120 idShort in a list": {**GOOD, "submodelElements": [{"idShort": "l", "modelType": "SubmodelElementList",
                                                                 "typeValueListElement": "Property",
                                                                 "value": [_prop("x")]}]},
    "AASd-108 list element kind": {**GOOD, "submodelElements": [{"idShort": "l", "modelType": "SubmodelElementList",
                                                                 "typeValueListElement": "Range",
                                                                 "value": [_prop(None)]}]},
}


def test_our_submodel_check_names_the_path_of_each_fault() -> None:
    assert submodel_problems(GOOD) == []
    for name, (doc, path) in BAD.items():
        problems = submodel_problems(doc)
        assert problems and problems[0].startswith(path + ":"), (name, problems)
    for name, doc in STRICTER.items():
        assert submodel_problems(doc), name


@needs_openapi
def test_our_submodel_check_agrees_with_the_official_schema() -> None:
    schema = component("Submodel")
    assert errors(GOOD, schema) == []
    for name, (doc, _) in BAD.items():
        assert errors(doc, schema), f"{name}: the official schema accepts what we refuse"
    for name, doc in STRICTER.items():
        assert errors(doc, schema) == [], f"{name}: the schema refuses it too (no longer 'stricter')"
