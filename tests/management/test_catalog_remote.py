"""``/v3/catalog``: a peer's catalog over DSP, end to end in-process, and peer failures mocked."""

from __future__ import annotations

import json

import httpx
import pytest

from connector.services.transport import DspClient, make_client
from connector.store.models import Asset, ContractDefinition
from tests.management.conftest import client_for, make_settings
from tests.management.helpers import EDC, PROVIDER_ID, VOCAB, ok, publish

CATALOG = "/management/v3/catalog/request"
DATASET = "/management/v3/catalog/dataset/request"
PEER = "https://peer.invalid/api/dsp/2025-1"


def catalog_request(address: str, **extra) -> dict:
    return {"@context": VOCAB, "@type": "CatalogRequest", "counterPartyAddress": address,
            "counterPartyId": PROVIDER_ID, "protocol": "dataspace-protocol-http:2025-1", **extra}


def test_the_providers_catalog_as_received(pair):
    publish(pair.provider, "asset-1", "cd-1")
    catalog = ok(pair.consumer.post(CATALOG, json=catalog_request(pair.provider_dsp)))
    assert catalog["@type"] == "Catalog" and catalog["participantId"] == PROVIDER_ID
    [dataset] = catalog["dataset"]
    assert dataset["@id"] == "asset-1"
    [offer] = dataset["hasPolicy"]
    assert offer["@type"] == "Offer" and offer["permission"][0]["action"] == "use"
    assert dataset[EDC + "name"] == "asset-1"


def test_the_bare_protocol_name_tractusx_sdk_sends_is_accepted(pair):
    publish(pair.provider)
    body = catalog_request(pair.provider_dsp, protocol="dataspace-protocol-http")
    assert ok(pair.consumer.post(CATALOG, json=body))["dataset"]


def test_a_query_spec_filters_the_datasets_received(pair):
    publish(pair.provider, "asset-1", "cd-1")
    publish(pair.provider, "asset-2", "cd-2")
    spec = {"@type": "QuerySpec", "filterExpression": [
        {"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=", "operandRight": "asset-2"}]}
    catalog = ok(pair.consumer.post(CATALOG, json=catalog_request(pair.provider_dsp, querySpec=spec)))
    assert [d["@id"] for d in catalog["dataset"]] == ["asset-2"]
    # tractusx-sdk's queryspec_from_queryspec_model() sends the QuerySpec as a JSON string
    as_text = json.dumps({"@context": VOCAB, **spec})
    catalog = ok(pair.consumer.post(CATALOG, json=catalog_request(pair.provider_dsp, querySpec=as_text)))
    assert [d["@id"] for d in catalog["dataset"]] == ["asset-2"]
    # an empty querySpec (tractusx-sdk's default) asks for nothing
    catalog = ok(pair.consumer.post(CATALOG, json=catalog_request(pair.provider_dsp, querySpec={})))
    assert len(catalog["dataset"]) == 2


def test_pagination_is_followed_only_when_asked(pair):
    publish(pair.provider, "asset-000", "cd-1")
    with pair.provider.app.state.services.db.write() as session:
        for i in range(1, 130):
            session.add(Asset(id=f"asset-{i:03}", properties={}, private_properties={},
                              data_address={"type": "HttpData"}, created_at=0))
        session.add(ContractDefinition(id="cd-all", access_policy_id="access-1", contract_policy_id="usage-1",
                                       assets_selector=[], private_properties={}, created_at=0))
    first_page = ok(pair.consumer.post(CATALOG, json=catalog_request(pair.provider_dsp)))
    assert len(first_page["dataset"]) == 100  # the provider's page size
    spec = {"offset": 90, "limit": 30}
    paged = ok(pair.consumer.post(CATALOG, json=catalog_request(pair.provider_dsp, querySpec=spec)))
    assert [d["@id"] for d in paged["dataset"]] == [f"asset-{i:03}" for i in range(90, 120)]


def test_one_dataset(pair):
    publish(pair.provider, "asset-1", "cd-1")
    body = {"@context": VOCAB, "@type": "DatasetRequest", "@id": "asset-1",
            "counterPartyAddress": pair.provider_dsp, "counterPartyId": PROVIDER_ID,
            "protocol": "dataspace-protocol-http:2025-1"}
    dataset = ok(pair.consumer.post(DATASET, json=body))
    assert dataset["@id"] == "asset-1" and dataset["hasPolicy"]
    r = pair.consumer.post(DATASET, json={**body, "@id": "missing"})
    assert r.status_code == 502
    [error] = r.json()
    assert error["type"] == "BadGateway" and "404" in error["message"] and "missing" in error["message"]


@pytest.mark.parametrize("change, path", [
    ({"counterPartyAddress": None}, "counterPartyAddress"),
    ({"counterPartyAddress": "not a url"}, "counterPartyAddress"),
    ({"protocol": "ids-multipart"}, "protocol"),
    ({"@type": "ContractRequest"}, "@type"),
    ({"querySpec": {"limit": -5}}, "querySpec.limit"),
    ({"querySpec": "{not json"}, "querySpec"),
])
def test_bad_catalog_requests_are_400(api, change, path):
    body = {k: v for k, v in {**catalog_request(PEER), **change}.items() if v is not None}
    r = api.post(CATALOG, json=body)
    assert r.status_code == 400, r.text
    assert r.json()[0]["path"] == path


# --- a misbehaving peer, mocked with pytest-httpx ------------------------------------------------


@pytest.fixture
def with_token(tmp_path):
    settings = make_settings(f"sqlite:///{tmp_path / 'c.db'}", token="our-token")
    with client_for(settings, DspClient(make_client("httpx"))) as client:
        yield client


def test_the_request_carries_our_token_and_a_catalog_request_message(with_token, httpx_mock):
    httpx_mock.add_response(method="POST", url=PEER + "/catalog/request",
                            json={"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "Catalog",
                                  "participantId": PROVIDER_ID, "dataset": []})
    assert ok(with_token.post(CATALOG, json=catalog_request(PEER)))["participantId"] == PROVIDER_ID
    [sent] = httpx_mock.get_requests()
    assert sent.headers["Authorization"] == "our-token"
    assert json.loads(sent.content) == {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                                        "@type": "CatalogRequestMessage"}


def test_a_peer_error_is_502_with_the_peers_reason(api, httpx_mock):
    httpx_mock.add_response(method="POST", url=PEER + "/catalog/request", status_code=401,
                            json={"@type": "CatalogError", "code": "unauthorized",
                                  "reason": ["the Authorization header names no known participant"]})
    r = api.post(CATALOG, json=catalog_request(PEER))
    assert r.status_code == 502
    [error] = r.json()
    assert error["type"] == "BadGateway"
    assert "401" in error["message"] and "names no known participant" in error["message"]


def test_a_wrong_address_gets_a_hint(api, httpx_mock):
    httpx_mock.add_response(method="POST", url="https://peer.invalid/catalog/request", status_code=404, text="")
    r = api.post(CATALOG, json=catalog_request("https://peer.invalid"))
    assert r.status_code == 502 and "DSP URL" in r.json()[0]["message"]


def test_an_unreachable_peer_is_502(api, httpx_mock):
    httpx_mock.add_exception(httpx.ConnectError("connection refused"), url=PEER + "/catalog/request")
    r = api.post(CATALOG, json=catalog_request(PEER))
    assert r.status_code == 502 and "could not be reached" in r.json()[0]["message"]


def test_a_garbled_answer_is_502(api, httpx_mock):
    httpx_mock.add_response(method="POST", url=PEER + "/catalog/request", text="<html>proxy error</html>")
    r = api.post(CATALOG, json=catalog_request(PEER))
    assert r.status_code == 502 and "not a JSON object" in r.json()[0]["message"]
