"""MET:01-01 and CAT:01-01..03 (``Metadata01Test``, ``Catalog01Test`` in eclipse-dataspacetck/dsp-tck),
and the TCK trigger webhooks' own contract (bad bodies, transfers not yet implemented)."""

from __future__ import annotations

import httpx
import pytest

from tests.tck import shapes

pytestmark = pytest.mark.integration  # starts `connector serve` on 127.0.0.1

CATALOG_REQUEST = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage",
                   "@id": "urn:uuid:5c9a7b1e-1111-4c3e-9d3e-6f1d2b3c4d5e"}


@pytest.fixture
def client(cut):  # type: ignore[no-untyped-def]
    with httpx.Client(timeout=10.0, headers={"Authorization": cut.token}) as c:
        yield c


def test_met_01_01_version_metadata(cut) -> None:  # type: ignore[no-untyped-def]
    """MET:01-01: the unauthenticated well-known endpoint lists 2025-1 with a path and a binding."""
    response = httpx.get(f"{cut.base_url}/.well-known/dspace-version", timeout=10.0)
    assert response.status_code == 200, response.text
    body = response.json()
    shapes.check("VersionResponse", body, "the version metadata")
    entry = next((v for v in body["protocolVersions"] if v.get("version") == "2025-1"), None)
    assert entry is not None and entry.get("path") and entry.get("binding"), body


def test_cat_01_01_catalog_request(cut, client) -> None:  # type: ignore[no-untyped-def]
    """CAT:01-01: the catalog holds dataset CAT0101."""
    response = client.post(f"{cut.dsp_url}/catalog/request", json=CATALOG_REQUEST)
    assert response.status_code == 200, response.text
    body = response.json()
    shapes.check("Catalog", body, "the catalog")
    assert any(d.get("@id") == "CAT0101" for d in body.get("dataset", [])), [d["@id"] for d in body.get("dataset", [])]


def test_cat_01_02_dataset_request(cut, client) -> None:  # type: ignore[no-untyped-def]
    """CAT:01-02: GET /catalog/datasets/CAT0102 returns that dataset."""
    response = client.get(f"{cut.dsp_url}/catalog/datasets/CAT0102")
    assert response.status_code == 200, response.text
    body = response.json()
    shapes.check("Dataset", body, "dataset CAT0102")
    assert body["@id"] == "CAT0102"


def test_cat_01_03_dataset_not_found(cut, client) -> None:  # type: ignore[no-untyped-def]
    """CAT:01-03: an unknown dataset (CAT0103 is not seeded on purpose) gives a 4xx CatalogError."""
    response = client.get(f"{cut.dsp_url}/catalog/datasets/CAT0103")
    assert 400 <= response.status_code < 500, response.text
    shapes.check("CatalogError", response.json(), "the refusal of CAT0103")


# --- the trigger webhooks themselves -----------------------------------------------------------

GOOD_NEGOTIATION = {"datasetId": "ACNC9999", "offerId": "offerACNC9999", "providerId": "TCK_PARTICIPANT",
                    "connectorAddress": "http://127.0.0.1:9/unused"}
GOOD_TRANSFER = {"agreementId": "ATPC0101", "format": "HttpData-PULL", "providerId": "TCK_PARTICIPANT",
                 "connectorAddress": "http://127.0.0.1:9/unused"}


@pytest.mark.parametrize("body, field", [
    ({k: v for k, v in GOOD_NEGOTIATION.items() if k != "datasetId"}, "datasetId"),
    ({**GOOD_NEGOTIATION, "offerId": 7}, "offerId"),
    ({**GOOD_NEGOTIATION, "providerId": "did:web:stranger"}, "providerId"),
    ({**GOOD_NEGOTIATION, "connectorAddress": "ftp://nowhere"}, "connectorAddress"),
    (["not", "an", "object"], "$"),
], ids=["missing-datasetId", "offerId-not-string", "unknown-provider", "bad-address", "not-an-object"])
def test_negotiation_trigger_refuses_bad_bodies(cut, body, field) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(f"{cut.base_url}/tck/negotiations/requests", json=body, timeout=10.0)
    assert response.status_code == 400, response.text
    assert response.json()["path"] == field and field in response.json()["message"], response.json()


def test_negotiation_trigger_refuses_non_json(cut) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(f"{cut.base_url}/tck/negotiations/requests", content=b"{nope", timeout=10.0)
    assert response.status_code == 400 and response.json()["path"] == "$", response.text


def test_transfer_trigger_refuses_an_agreement_it_does_not_hold(cut) -> None:  # type: ignore[no-untyped-def]
    # the trigger itself works (TP_C:* run through it); an agreement we are not consumer of is named
    body = {**GOOD_TRANSFER, "agreementId": "ATP0101"}  # seeded, but with the CUT as provider
    response = httpx.post(f"{cut.base_url}/tck/transfers/requests", json=body, timeout=10.0)
    assert response.status_code == 404, response.text
    assert "ATP0101" in response.json()["message"], response.json()


def test_transfer_trigger_refuses_bad_bodies(cut) -> None:  # type: ignore[no-untyped-def]
    body = {k: v for k, v in GOOD_TRANSFER.items() if k != "format"}
    response = httpx.post(f"{cut.base_url}/tck/transfers/requests", json=body, timeout=10.0)
    assert response.status_code == 400 and response.json()["path"] == "format", response.text
