"""The provider's catalog: schema-valid, paged with Link headers, dataset by id, errors."""

import httpx
import pytest

from tests.dsp.conftest import run, seed_offer
from tests.protocol.test_messages_schema import DSP, _validator

REQUEST = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}
needs_reference = pytest.mark.skipif(not DSP.is_dir(), reason=f"reference DSP 2025-1 files not found at {DSP}")


def call(world, method, url, **kw):
    async def go():
        async with httpx.AsyncClient(transport=world["router"]) as client:
            return await client.request(method, url, headers={"Authorization": "consumer-token"}, **kw)
    return run(go())


@needs_reference
def test_catalog_and_dataset_validate_against_the_official_schemas(world):
    seed_offer(world["provider"].services, policy={"@type": "Set", "@id": "p", "permission": [{
        "action": "use", "constraint": [{"leftOperand": "FrameworkAgreement", "operator": "eq",
                                         "rightOperand": "DataExchangeGovernance:1.0"}]}]})
    catalog = call(world, "POST", world["provider"].dsp + "/catalog/request", json=REQUEST).json()
    _validator(DSP / "catalog" / "catalog-schema.json").validate(catalog)
    assert "https://w3id.org/catenax/2025/9/policy/context.jsonld" in catalog["@context"]
    offer = catalog["dataset"][0]["hasPolicy"][0]
    assert "target" not in offer  # DSP: no target on offers inside a catalog
    dataset = call(world, "GET", world["provider"].dsp + "/catalog/datasets/asset-1").json()
    _validator(DSP / "catalog" / "dataset-schema.json").validate(dataset)


def test_pages_follow_link_headers_to_the_end(world):
    for i in range(7):
        seed_offer(world["provider"].services, asset_id=f"asset-{i}")
    seen, url, pages = [], world["provider"].dsp + "/catalog/request?limit=3", 0
    while url:
        r = call(world, "POST", url, json=REQUEST)
        assert r.status_code == 200
        seen += [d["@id"] for d in r.json().get("dataset", [])]
        url = r.links.get("next", {}).get("url")
        pages += 1
    assert seen == [f"asset-{i}" for i in range(7)]
    assert pages == 3


def test_unknown_dataset_is_a_catalog_error(world):
    r = call(world, "GET", world["provider"].dsp + "/catalog/datasets/nope")
    assert r.status_code == 404
    assert r.json()["@type"] == "CatalogError"


def test_filter_is_refused_with_a_reason(world):
    r = call(world, "POST", world["provider"].dsp + "/catalog/request", json={**REQUEST, "filter": [{"x": 1}]})
    assert r.status_code == 400
    assert "filter" in r.json()["reason"][0]
