"""did:web: URL mapping, our DID document, resolution over HTTP with a cache, and the serving edge."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from connector.identity.did import (
    DidResolutionError,
    DidResolver,
    build_did_document,
    did_web_for_url,
    did_web_path,
    did_web_url,
    dsp_services,
    find_verification_method,
)
from connector.identity.keys import KeySet, SigningKey
from connector.identity.multikey import public_key_from_vm
from connector.identity.wallet import new_key_file

from .conftest import local_fetch, make_identity


@pytest.mark.parametrize("did, url", [
    ("did:web:example.com", "https://example.com/.well-known/did.json"),
    ("did:web:Example.COM%3A8443", "https://example.com:8443/.well-known/did.json"),
    ("did:web:example.com:user:alice", "https://example.com/user/alice/did.json"),
    ("did:web:example.com%3A3000:user%20x", "https://example.com:3000/user%20x/did.json"),
])
def test_did_web_urls(did, url):
    assert did_web_url(did) == url


def test_localhost_needs_the_explicit_setting():
    with pytest.raises(DidResolutionError, match="allow_insecure_did_web"):
        did_web_url("did:web:localhost%3A8181")
    assert did_web_url("did:web:localhost%3A8181", allow_insecure_localhost=True) == \
        "http://localhost:8181/.well-known/did.json"
    assert did_web_url("did:web:localhost%3A8181:issuer", allow_insecure_localhost=True) == \
        "http://localhost:8181/issuer/did.json"


@pytest.mark.parametrize("did", ["did:web:10.0.0.1", "did:web:example.com#key-1", "did:web:example.com:..",
                                 "did:web:exa_mple.com", "did:web:example.com%3Ahttp", "did:key:z6Mk"])
def test_bad_did_webs(did):
    with pytest.raises(DidResolutionError):
        did_web_url(did, allow_insecure_localhost=True)


def test_did_for_url_and_serving_path():
    assert did_web_for_url("http://localhost:8181") == "did:web:localhost%3A8181"
    assert did_web_for_url("https://issuer.example/dataspace/issuer/") == "did:web:issuer.example:dataspace:issuer"
    assert did_web_path("did:web:localhost%3A8181") == "/.well-known/did.json"
    assert did_web_path("did:web:localhost%3A8181:issuer") == "/issuer/did.json"


def test_our_document_publishes_multikey_and_jwk_twins_and_dsp_services():
    did = "did:web:connector.example"
    keys = KeySet(SigningKey.generate(f"{did}#key-1", did))
    doc = build_did_document(did, keys, services=dsp_services(did, "https://connector.example",
                                                               "https://connector.example/api/dsp/2025-1"))
    assert doc["id"] == did and "https://www.w3.org/ns/did/v1" in doc["@context"]
    assert [(vm["id"], vm["type"]) for vm in doc["verificationMethod"]] == [
        (f"{did}#key-1", "Multikey"), (f"{did}#key-1-jwk", "JsonWebKey")]
    multikey, jwk = doc["verificationMethod"]
    assert public_key_from_vm(multikey).public_bytes_raw() == public_key_from_vm(jwk).public_bytes_raw()
    assert jwk["publicKeyJwk"]["kty"] == "OKP" and "d" not in jwk["publicKeyJwk"]
    for relation in ("authentication", "assertionMethod", "capabilityInvocation"):
        assert doc[relation] == [f"{did}#key-1", f"{did}#key-1-jwk"]
    assert {s["type"]: s["serviceEndpoint"] for s in doc["service"]} == {
        "CatalogService": "https://connector.example/api/dsp/2025-1/catalog",
        "DataService": "https://connector.example/.well-known/dspace-version"}


def test_rotation_keeps_old_keys_for_assertions_only_and_revocation_removes_them():
    did = "did:web:connector.example"
    keys = KeySet(SigningKey.generate(f"{did}#key-1", did))
    keys.rotate(SigningKey.generate(f"{did}#key-2", did))
    doc = build_did_document(did, keys)
    assert f"{did}#key-1" in doc["assertionMethod"] and f"{did}#key-1" not in doc["authentication"]
    assert find_verification_method(doc, f"{did}#key-1", "assertionMethod")
    with pytest.raises(DidResolutionError, match="capabilityInvocation"):
        find_verification_method(doc, f"{did}#key-1-jwk", "capabilityInvocation")
    keys.revoke(f"{did}#key-1")
    doc = build_did_document(did, keys)
    assert f"{did}#key-1" not in doc["assertionMethod"]
    with pytest.raises(DidResolutionError):
        find_verification_method(doc, f"{did}#key-1")


def test_find_method_accepts_relative_ids_and_checks_the_controller():
    doc = {"id": "did:web:a.example", "verificationMethod": [
        {"id": "#k", "type": "Multikey", "controller": "did:web:a.example", "publicKeyMultibase": "z6Mk"},
        {"id": "#evil", "type": "Multikey", "controller": "did:web:b.example", "publicKeyMultibase": "z6Mk"}],
        "assertionMethod": ["#k", "#evil"]}
    assert find_verification_method(doc, "did:web:a.example#k", "assertionMethod")["id"] == "did:web:a.example#k"
    with pytest.raises(DidResolutionError, match="controlled by"):
        find_verification_method(doc, "did:web:a.example#evil", "assertionMethod")


def test_resolution_over_http_is_cached_for_the_ttl(clean_web, tmp_path):
    identity = make_identity(clean_web.did("alice"), tmp_path, "alice")
    clean_web.publish_did(identity.did_document())
    clock = [0.0]
    resolver = DidResolver(allow_insecure_localhost=True, ttl_seconds=300, clock=lambda: clock[0], fetch=local_fetch())
    assert resolver.resolve(identity.did)["id"] == identity.did
    assert resolver.resolve(identity.kid)["id"] == identity.did  # a DID URL resolves its DID
    assert clean_web.hits == ["/alice/did.json"]
    clock[0] = 301
    resolver.public_key(identity.kid, "capabilityInvocation")
    assert len(clean_web.hits) == 2


def test_resolution_failures(clean_web, tmp_path):
    resolver = DidResolver(allow_insecure_localhost=True, fetch=local_fetch())
    with pytest.raises(DidResolutionError, match="HTTP 404"):
        resolver.resolve(clean_web.did("nobody"))
    clean_web.routes["/liar/did.json"] = {"id": "did:web:someone.else"}
    with pytest.raises(DidResolutionError, match="not of"):
        resolver.resolve(clean_web.did("liar"))
    clean_web.routes["/notjson/did.json"] = "this is not JSON"
    with pytest.raises(DidResolutionError, match="not JSON"):
        resolver.resolve(clean_web.did("notjson"))
    with pytest.raises(DidResolutionError, match="allow_insecure_did_web"):
        DidResolver().resolve(clean_web.did("alice"))
    with pytest.raises(DidResolutionError, match="only did:web and did:key"):
        resolver.resolve("did:example:123")
    with pytest.raises(DidResolutionError, match="offline"):
        DidResolver(offline=True, allow_insecure_localhost=True).resolve(clean_web.did("alice"))


def test_did_key_and_pinned_documents_need_no_network():
    key = SigningKey.generate()
    resolver = DidResolver(offline=True, documents=[{"id": "did:web:pinned.example", "verificationMethod": []}])
    assert resolver.resolve(key.id)["id"] == key.controller
    assert resolver.public_key(key.id, "assertionMethod").public_bytes_raw() == key.public_key.public_bytes_raw()
    assert resolver.resolve("did:web:pinned.example")["id"] == "did:web:pinned.example"


def _settings(tmp_path, participant_id, **identity):
    from connector.config import Settings

    return Settings(participant_id=participant_id, api_key="k", database_url=f"sqlite:///{tmp_path}/db.sqlite",
                    server={"port": 8199}, identity=identity)


def test_the_connector_serves_its_did_document(tmp_path):
    from connector.app import create_app

    did = "did:web:localhost%3A8199"
    new_key_file(tmp_path / "c.keys.json", did)
    settings = _settings(tmp_path, did, key_file=str(tmp_path / "c.keys.json"))
    client = TestClient(create_app(settings, run_worker=False))
    response = client.get("/.well-known/did.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["id"] == did and doc["capabilityInvocation"] == [f"{did}#key-1", f"{did}#key-1-jwk"]
    assert {"CatalogService", "DataService", "CredentialService"} == {s["type"] for s in doc["service"]}
    assert doc["service"][0]["serviceEndpoint"] == "http://127.0.0.1:8199/api/dsp/2025-1/catalog"
    assert doc["service"][2]["serviceEndpoint"] == "http://127.0.0.1:8199/api/dcp"  # DCP's Credential Service


def test_the_connector_serves_an_issuer_folder(tmp_path):
    from connector.app import create_app
    from connector.identity.issuer import Issuer

    issuer = Issuer.init(tmp_path / "issuer", "did:web:localhost%3A8199:issuer")
    issued = issuer.issue("did:web:x.example", "Membership")
    settings = _settings(tmp_path, "BPNL000000000001", issuer_dir=str(tmp_path / "issuer"))
    client = TestClient(create_app(settings, run_worker=False))
    assert client.get("/.well-known/did.json").status_code == 404  # no key file: no DID document of ours
    assert client.get("/issuer/did.json").json()["id"] == issuer.did
    before = client.get("/issuer/status-list")
    assert before.headers["content-type"].startswith("application/vc+jwt")
    issuer.revoke(issued.credential["id"])
    assert client.get("/issuer/status-list").text != before.text  # served live from the folder
