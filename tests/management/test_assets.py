"""``/v3/assets``: create, read, update, delete, and what a refused write leaves behind (nothing)."""

from __future__ import annotations

from tests.management.helpers import EDC, VOCAB, asset, ok

BASE = "/management/v3/assets"


def test_create_answers_an_id_response_and_the_asset_reads_back(api):
    body = asset("a1", **{"dct:type": {"@id": "https://w3id.org/catenax/taxonomy#PcfExchange"}, "version": 3})
    created = ok(api.post(BASE, json=body))
    assert created["@type"] == "IdResponse" and created["@id"] == "a1"
    assert isinstance(created["createdAt"], int) and created["createdAt"] > 1_600_000_000_000

    got = ok(api.get(f"{BASE}/a1"))
    assert got["@id"] == "a1" and got["@type"] == "Asset"
    assert got["@context"]["@vocab"] == EDC
    assert got["properties"] == {"name": "a1", "version": 3,
                                 "dct:type": {"@id": "https://w3id.org/catenax/taxonomy#PcfExchange"}}
    assert got["privateProperties"] == {"secretNote": "internal"}
    assert got["dataAddress"] == {"@type": "DataAddress", "type": "HttpData",
                                  "baseUrl": "https://backend.invalid/a1", "proxyPath": "true"}
    assert got["createdAt"] == created["createdAt"]


def test_properties_are_stored_by_full_iri_and_data_address_by_local_name(api):
    ok(api.post(BASE, json={
        "@context": {"edc": EDC, "dct": "http://purl.org/dc/terms/"},  # no @vocab, as tractusx-sdk sends it
        "@id": "a2",
        "properties": {"dct:title": "Title", "edc:name": "n"},
        "dataAddress": {"type": "HttpData", "baseUrl": "https://x.invalid", "header:X-Key": "k",
                        "edc:oauth2:tokenUrl": "https://idp.invalid/token"},
    }))
    services = api.app.state.services
    from connector.store.models import Asset

    with services.db.read() as session:
        row = session.get(Asset, "a2")
    assert row.properties == {"http://purl.org/dc/terms/title": "Title", EDC + "name": "n"}
    assert row.data_address == {"type": "HttpData", "baseUrl": "https://x.invalid", "header:X-Key": "k",
                                "oauth2:tokenUrl": "https://idp.invalid/token"}


def test_an_id_is_made_up_when_none_is_given(api):
    body = asset("x")
    del body["@id"]
    created = ok(api.post(BASE, json=body))
    assert len(created["@id"]) == 36
    ok(api.get(f"{BASE}/{created['@id']}"))


def test_duplicate_id_is_409_and_the_first_stays(api):
    ok(api.post(BASE, json=asset("dup", title="first")))
    r = api.post(BASE, json=asset("dup", title="second"))
    assert r.status_code == 409
    [error] = r.json()
    assert error["type"] == "ObjectConflict" and "dup" in error["message"] and "already exists" in error["message"]
    assert ok(api.get(f"{BASE}/dup"))["properties"]["title"] == "first"


def test_missing_data_address_is_400_naming_it_and_nothing_is_stored(api):
    body = asset("no-address")
    del body["dataAddress"]
    r = api.post(BASE, json=body)
    assert r.status_code == 400
    [error] = r.json()
    assert error["path"] == "dataAddress" and "dataAddress" in error["message"]
    assert set(error) == {"message", "type", "path", "invalidValue"}
    assert api.get(f"{BASE}/no-address").status_code == 404


def test_data_address_without_type_is_400(api):
    body = asset("no-type")
    del body["dataAddress"]["type"]
    r = api.post(BASE, json=body)
    assert r.status_code == 400 and r.json()[0]["path"] == "dataAddress.type"
    assert api.get(f"{BASE}/no-type").status_code == 404


def test_update_replaces_the_asset_and_keeps_created_at(api):
    created = ok(api.post(BASE, json=asset("u1", title="old")))
    body = asset("u1", title="new")
    body["dataAddress"]["baseUrl"] = "https://new.invalid"
    assert api.put(BASE, json=body).status_code == 204
    got = ok(api.get(f"{BASE}/u1"))
    assert got["properties"]["title"] == "new"
    assert got["dataAddress"]["baseUrl"] == "https://new.invalid"
    assert got["createdAt"] == created["createdAt"]


def test_update_of_a_missing_asset_is_404_and_creates_nothing(api):
    r = api.put(BASE, json=asset("ghost"))
    assert r.status_code == 404 and r.json()[0]["type"] == "ObjectNotFound"
    assert api.get(f"{BASE}/ghost").status_code == 404


def test_update_needs_an_id(api):
    body = asset("x")
    del body["@id"]
    r = api.put(BASE, json=body)
    assert r.status_code == 400 and r.json()[0]["path"] == "@id"


def test_delete_then_get_is_404(api):
    ok(api.post(BASE, json=asset("d1")))
    assert api.delete(f"{BASE}/d1").status_code == 204
    r = api.get(f"{BASE}/d1")
    assert r.status_code == 404
    [error] = r.json()
    assert error["type"] == "ObjectNotFound" and "d1" in error["message"]
    assert api.delete(f"{BASE}/d1").status_code == 404


def test_an_asset_an_agreement_refers_to_cannot_be_deleted(api):
    ok(api.post(BASE, json=asset("agreed")))
    from connector.store.models import Agreement

    with api.app.state.services.db.write() as session:
        session.add(Agreement(id="ag-1", negotiation_id="n-1", asset_id="agreed", provider_id="p", consumer_id="c",
                              policy={}, signing_date=0, created_at=0))
    r = api.delete(f"{BASE}/agreed")
    assert r.status_code == 409 and "ag-1" in r.json()[0]["message"]
    ok(api.get(f"{BASE}/agreed"))


def test_wrong_type_is_refused_and_a_missing_one_accepted(api):
    body = asset("typed")
    body["@type"] = "PolicyDefinition"
    r = api.post(BASE, json=body)
    assert r.status_code == 400 and r.json()[0]["path"] == "@type"
    assert "Asset" in r.json()[0]["message"]
    del body["@type"]
    ok(api.post(BASE, json=body))


def test_properties_must_be_an_object(api):
    body = asset("bad-props")
    body["properties"] = "not an object"
    r = api.post(BASE, json=body)
    assert r.status_code == 400 and r.json()[0]["path"] == "properties"
    assert api.get(f"{BASE}/bad-props").status_code == 404


def test_expanded_edc_keys_are_read_too(api):
    ok(api.post(BASE, json={
        "@context": VOCAB, "@id": "full",
        EDC + "properties": {EDC + "name": "full iris"},
        EDC + "dataAddress": {EDC + "type": "HttpData", EDC + "baseUrl": "https://backend.invalid/full"},
    }))
    assert ok(api.get(f"{BASE}/full"))["properties"] == {"name": "full iris"}


def test_a_stored_document_is_kept_exactly_as_sent(api):
    document = {"@context": {"x": "urn:x:"}, "productIds": ["urn:mpn:NG-WC-400"], "pcf": {"value": 12.5, "list": [1]}}
    body = {"@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}, "@id": "doc-1", "properties": {},
            "dataAddress": {"@type": "DataAddress", "type": "PontisDocument", "document": document}}
    assert api.post("/management/v3/assets", json=body).status_code == 200
    stored = api.app.state.services.db
    from connector.store.models import Asset
    with stored.read() as session:
        assert session.get(Asset, "doc-1").data_address["document"] == document


def test_an_unsupported_data_address_is_refused_on_write(api):
    body = {"@context": VOCAB, "@id": "s3", "properties": {}, "dataAddress": {"type": "AmazonS3", "bucket": "b"}}
    r = api.post(BASE, json=body)
    assert r.status_code == 400 and r.json()[0]["path"] == "dataAddress.type"
    assert "HttpData, PontisDocument, PontisFile" in r.json()[0]["message"]
    body["dataAddress"] = {"type": "HttpDta", "baseUrl": "https://backend.invalid/x"}
    assert "did you mean 'HttpData'" in api.post(BASE, json=body).text
    body["dataAddress"] = {"type": "PontisDocument"}
    r = api.post(BASE, json=body)
    assert r.status_code == 400 and r.json()[0]["path"] == "dataAddress.document"
    # no [dataplane] files_dir in this connector's config: a stored file could never be served
    body["dataAddress"] = {"type": "PontisFile", "path": "x.bin"}
    r = api.post(BASE, json=body)
    assert r.status_code == 400 and "files_dir" in r.json()[0]["message"]
    assert api.get(f"{BASE}/s3").status_code == 404
