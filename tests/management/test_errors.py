"""The error shapes of the management API: EDC's error array on every refusal, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.management.helpers import API_KEY, VOCAB, asset, ok

ENDPOINTS = [
    ("POST", "/management/v3/assets"), ("PUT", "/management/v3/assets"), ("POST", "/management/v3/assets/request"),
    ("GET", "/management/v3/assets/x"), ("DELETE", "/management/v3/assets/x"),
    ("POST", "/management/v3/policydefinitions"), ("PUT", "/management/v3/policydefinitions"),
    ("GET", "/management/v3/policydefinitions/x"), ("PUT", "/management/v3/policydefinitions/x"),
    ("DELETE", "/management/v3/policydefinitions/x"), ("POST", "/management/v3/policydefinitions/request"),
    ("POST", "/management/v3/policydefinitions/x/validate"), ("POST", "/management/v3/policydefinitions/x/evaluationplan"),
    ("POST", "/management/v3/contractdefinitions"), ("PUT", "/management/v3/contractdefinitions"),
    ("GET", "/management/v3/contractdefinitions/x"), ("DELETE", "/management/v3/contractdefinitions/x"),
    ("POST", "/management/v3/contractdefinitions/request"),
    ("POST", "/management/v3/catalog/request"), ("POST", "/management/v3/catalog/dataset/request"),
    ("POST", "/management/v3/contractnegotiations"), ("POST", "/management/v3/contractnegotiations/request"),
    ("GET", "/management/v3/contractnegotiations/x"), ("GET", "/management/v3/contractnegotiations/x/state"),
    ("GET", "/management/v3/contractnegotiations/x/agreement"), ("POST", "/management/v3/contractnegotiations/x/terminate"),
    ("POST", "/management/v3/contractagreements/request"), ("GET", "/management/v3/contractagreements/x"),
    ("GET", "/management/v3/contractagreements/x/negotiation"),
]


def assert_error_array(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list) and body
    for item in body:
        assert set(item) == {"message", "type", "path", "invalidValue"}
        assert isinstance(item["message"], str) and len(item["message"]) > 10
    return body[0]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_every_endpoint_wants_the_api_key(api, method, path):
    for headers in ({"X-Api-Key": ""}, {"X-Api-Key": "wrong"}):
        error = assert_error_array(api.request(method, path, headers=headers, json={}), 401)
        assert error["type"] == "AuthenticationFailed" and "X-Api-Key" in error["message"]


def test_no_key_at_all_is_401(api):
    from fastapi.testclient import TestClient

    bare = TestClient(api.app)
    assert_error_array(bare.get("/management/v3/assets/x"), 401)


WITH_BODY = [e for e in ENDPOINTS if e[0] in ("POST", "PUT") and not e[1].endswith("/validate")]  # validate has none


@pytest.mark.parametrize("method, path", WITH_BODY)
def test_malformed_json_is_400_everywhere(api, method, path):
    r = api.request(method, path, content=b'{"@id": "x",', headers={"Content-Type": "application/json"})
    error = assert_error_array(r, 400)
    assert "JSON" in error["message"]


@pytest.mark.parametrize("method, path", WITH_BODY)
def test_garbage_never_makes_a_500(api, method, path):
    for body in ([1, 2], "text", 42, {"@context": 5}, {"@context": VOCAB, "@id": 7},
                 {"@context": {"@vocab": 3}}, {"@context": VOCAB, "policy": "x", "dataAddress": [1],
                                               "counterPartyAddress": 5, "filterExpression": "x"}):
        r = api.request(method, path, content=json.dumps(body).encode())
        assert r.status_code < 500, (body, r.text)
        assert isinstance(r.json(), (list, dict))


@pytest.mark.parametrize("depth", [100_000, 600, 250])
def test_deeply_nested_bodies_are_400_not_a_crash(api, depth):
    body = '{"@id": "x", "properties": ' + '{"a": ' * depth + "1" + "}" * depth + ', "dataAddress": {"type": "HttpData"}}'
    error = assert_error_array(api.post("/management/v3/assets", content=body.encode()), 400)
    assert error["path"] == "body"
    assert api.get("/management/v3/assets/x").status_code == 404


def test_a_body_is_required_where_it_carries_the_object(api):
    error = assert_error_array(api.post("/management/v3/assets"), 400)
    assert "body" in error["message"]


def test_unknown_context_iri_on_any_body_names_it(api):
    body = asset("ctx")
    body["@context"] = "https://example.invalid/context.jsonld"
    error = assert_error_array(api.post("/management/v3/assets", json=body), 400)
    assert error["invalidValue"] == "https://example.invalid/context.jsonld"
    assert "https://example.invalid/context.jsonld" in error["message"]


def test_a_body_over_the_limit_is_refused(api):
    api.app.state.services.settings.max_body_bytes = 1000
    r = api.post("/management/v3/assets", json=asset("big", blob="x" * 2000))
    error = assert_error_array(r, 413)
    assert "1000" in error["message"]


def test_missing_context_means_edcs_default_vocabulary(api):
    ok(api.post("/management/v3/assets", json={"@id": "plain", "properties": {"name": "n"},
                                                "dataAddress": {"type": "HttpData",
                                                                "baseUrl": "https://backend.invalid/plain"}}))
    assert ok(api.get("/management/v3/assets/plain"))["properties"] == {"name": "n"}


def test_unknown_negotiation_and_agreement_are_404(api):
    assert_error_array(api.get("/management/v3/contractnegotiations/nope"), 404)
    assert_error_array(api.get("/management/v3/contractnegotiations/nope/state"), 404)
    assert_error_array(api.get("/management/v3/contractnegotiations/nope/agreement"), 404)
    assert_error_array(api.post("/management/v3/contractnegotiations/nope/terminate", json={"reason": "x"}), 404)
    assert_error_array(api.get("/management/v3/contractagreements/nope"), 404)
    assert_error_array(api.get("/management/v3/contractagreements/nope/negotiation"), 404)


def test_the_api_key_header_name_is_case_insensitive(api):
    from fastapi.testclient import TestClient

    other = TestClient(api.app, headers={"x-api-key": API_KEY})
    assert other.get("/management/v3/assets/x").status_code == 404
