"""``/v3/peers``: peers added and removed at run time take effect at once; config peers are read-only."""

from __future__ import annotations

import json

import pytest

from connector.config import Peer
from connector.identity.did import DidResolver
from connector.services.errors import InvalidRequest
from connector.services.peers import dsp_url_from_did
from tests.management.conftest import client_for, make_settings
from tests.management.helpers import ok

BASE = "/management/v3/peers"
CATALOG = "/api/dsp/2025-1/catalog/request"
MESSAGE = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}


@pytest.fixture
def api(database_url):
    settings = make_settings(database_url, token="our-own-token", peers=[
        Peer(id="did:web:configured.test", token="configured-token", bpn="BPNL000000000009")])
    with client_for(settings) as client:
        yield client


def catalog_as(api, token: str):
    return api.post(CATALOG, json=MESSAGE, headers={"Authorization": token})


def test_an_added_peer_is_let_in_at_once_and_a_removed_one_is_not(api):
    refused = catalog_as(api, "partner-token-1")
    assert refused.status_code == 401
    assert any("connector peer add" in r for r in refused.json()["reason"])  # the 401 says the fix
    added = ok(api.post(BASE, json={"id": "did:web:partner.test", "token": "partner-token-1",
                                    "dspUrl": "https://partner.test/api/dsp/2025-1", "bpn": "BPNL000000000002",
                                    "claims": {"membership": True}}))
    assert added == {"id": "did:web:partner.test", "dspUrl": "https://partner.test/api/dsp/2025-1",
                     "bpn": "BPNL000000000002", "claims": {"membership": True}, "hasToken": True,
                     "source": "stored", "readOnly": False}
    assert catalog_as(api, "partner-token-1").status_code == 200
    listed = ok(api.get(BASE))
    assert [(p["id"], p["readOnly"]) for p in listed] == [("did:web:configured.test", True),
                                                          ("did:web:partner.test", False)]
    assert "partner-token-1" not in json.dumps(listed) and "configured-token" not in json.dumps(listed)
    assert api.delete(f"{BASE}/did:web:partner.test").status_code == 204
    assert catalog_as(api, "partner-token-1").status_code == 401
    assert api.delete(f"{BASE}/did:web:partner.test").status_code == 404


def test_config_peers_are_read_only_and_tokens_unique(api):
    r = api.post(BASE, json={"id": "did:web:configured.test", "token": "another-token"})
    assert r.status_code == 409 and "[[peers]]" in r.json()[0]["message"]
    assert api.delete(f"{BASE}/did:web:configured.test").status_code == 409
    r = api.post(BASE, json={"id": "did:web:copycat.test", "token": "configured-token",
                             "dspUrl": "https://copycat.test/dsp"})
    assert r.status_code == 409 and "did:web:configured.test" in r.json()[0]["message"]
    r = api.post(BASE, json={"id": "did:web:copycat.test", "token": "our-own-token", "dspUrl": "https://c.test/d"})
    assert r.status_code == 409 and r.json()[0]["path"] == "token"
    assert catalog_as(api, "configured-token").status_code == 200


@pytest.mark.parametrize("body, path, said", [
    ({"id": "did:web:p.test", "tokn": "x" * 12}, "tokn", "did you mean 'token'?"),
    ({"id": "did:web:p.test", "dsp_url": "ftp://x"}, "dspUrl", "DSP base"),
    ({"id": "did:web:p.test", "dspUrl": "https://p.test/d", "bpn": "NOTABPN"}, "bpn", "not a BPN"),
    ({"id": "example.com", "dspUrl": "https://p.test/d"}, "id", "neither a DID"),
    ({"token": "x" * 12}, "id", "is required"),
    ({"id": "BPNL000000000003"}, "dspUrl", "only a did:web names its DSP endpoint"),
])
def test_bad_peers_are_refused_naming_the_field(api, body, path, said):
    r = api.post(BASE, json=body)
    assert r.status_code == 400 and r.json()[0]["path"] == path and said in r.json()[0]["message"], r.text
    assert len(ok(api.get(BASE))) == 1


def test_the_dsp_url_comes_from_the_peers_did_document():
    did = "did:web:partner.test"
    with_catalog = {"id": did, "service": [
        {"id": did + "#dsp-catalog", "type": "CatalogService",
         "serviceEndpoint": "https://partner.test/api/dsp/2025-1/catalog"}]}
    assert dsp_url_from_did(did, DidResolver(documents=[with_catalog])) == "https://partner.test/api/dsp/2025-1"
    # only the DataService entry: its .well-known/dspace-version names the path
    versions = {"protocolVersions": [{"version": "2025-1", "path": "/dsp/v2025", "binding": "HTTPS"}]}
    fetched = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return json.dumps(versions).encode()

    only_data = {"id": did, "service": [{"id": did + "#dsp", "type": "DataService",
                                         "serviceEndpoint": "https://partner.test/.well-known/dspace-version"}]}
    resolver = DidResolver(documents=[only_data], fetch=fetch)
    assert dsp_url_from_did(did, resolver) == "https://partner.test/dsp/v2025"
    assert fetched == ["https://partner.test/.well-known/dspace-version"]
    with pytest.raises(InvalidRequest, match="no CatalogService or DataService"):
        dsp_url_from_did(did, DidResolver(documents=[{"id": did}]))
    with pytest.raises(InvalidRequest, match="cannot be read"):
        dsp_url_from_did("did:web:nowhere.invalid", DidResolver(offline=True))


def test_an_empty_catalog_tells_the_providers_admin_how_to_see_why(api, caplog):
    from tests.management.helpers import publish

    publish(api, "asset-1", "cd-1")  # its access policy asks for Membership
    ok(api.post(BASE, json={"id": "did:web:partner.test", "token": "partner-token-1",
                            "dspUrl": "https://partner.test/api/dsp/2025-1"}))  # no claims
    with caplog.at_level("INFO", logger="pontis"):
        catalog = ok(catalog_as(api, "partner-token-1"))
    assert not catalog.get("dataset")
    hint = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "catalog for did:web:partner.test is empty" in hint and "connector policy explain" in hint
    assert "claims" in hint and "[[peers]]" in hint
