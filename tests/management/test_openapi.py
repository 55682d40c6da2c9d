"""The API is described on the management side only, for staff: /management/docs and /openapi.json
need the key; the public /docs and /openapi.json are gone."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.management.helpers import API_KEY


def test_the_public_docs_are_gone(api):
    anonymous = TestClient(api.app)
    for path in ("/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect"):
        assert anonymous.get(path).status_code == 404, path


def test_the_management_docs_need_the_key(api):
    anonymous = TestClient(api.app)
    for path in ("/management/openapi.json", "/management/docs"):
        refused = anonymous.get(path)
        assert refused.status_code == 401 and refused.json()[0]["path"] == "X-Api-Key"
        assert anonymous.get(path, headers={"X-Api-Key": "wrong"}).status_code == 401
    page = api.get("/management/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text and '"ApiKeyAuth"' in page.text
    # a browser is asked for the key (HTTP Basic, the key as password), for these two pages only
    asked = anonymous.get("/management/docs")
    assert asked.headers["www-authenticate"].startswith("Basic ")
    assert anonymous.get("/management/docs", auth=("admin", API_KEY)).status_code == 200
    assert anonymous.get("/management/openapi.json", auth=("", API_KEY)).status_code == 200
    assert anonymous.get("/management/docs", auth=("admin", "wrong")).status_code == 401
    assert anonymous.get("/management/v3/peers", auth=("admin", API_KEY)).status_code == 401


def test_the_document_has_the_key_scheme_and_the_request_bodies(api):
    spec = api.get("/management/openapi.json").json()
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey", "in": "header", "name": "X-Api-Key",
        "description": "the connector's api_key (from its config)"}
    assert spec["security"] == [{"ApiKeyAuth": []}]
    paths = spec["paths"]
    assert all(p.startswith("/management/v3/") for p in paths)  # no DSP, data plane or console routes
    for path, method in (("/management/v3/assets", "post"), ("/management/v3/policydefinitions", "post"),
                         ("/management/v3/contractdefinitions", "post"), ("/management/v3/catalog/request", "post"),
                         ("/management/v3/contractnegotiations", "post"), ("/management/v3/peers", "post"),
                         ("/management/v3/transferprocesses", "post"), ("/management/v3/assets/request", "post")):
        operation = paths[path][method]
        assert operation["security"] == [{"ApiKeyAuth": []}], path
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema.get("properties"), (path, schema)
    asset = paths["/management/v3/assets"]["post"]["requestBody"]["content"]["application/json"]
    assert asset["schema"]["properties"]["dataAddress"]["properties"]["type"]["enum"] == [
        "HttpData", "PontisDocument", "PontisFile", "Mqtt", "PontisRegistry"]
    assert "allowAll" in str(paths["/management/v3/policydefinitions"]["post"]["requestBody"])


def test_the_documented_examples_work_as_written(api):
    """What the page offers under "Try it out" is accepted: asset, policy, then the offer."""
    spec = api.get("/management/openapi.json").json()

    def example(path: str) -> dict:
        return spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["example"]

    for path in ("/management/v3/assets", "/management/v3/policydefinitions", "/management/v3/contractdefinitions"):
        r = api.post(path, json=example(path))
        assert r.status_code == 200, (path, r.text)
    assert API_KEY


def test_every_request_body_is_described(api):
    """Schemathesis (tests/fuzz) generates calls from these: a body described only as "an object"
    gets nothing but noise, so each one names its fields."""
    spec = api.get("/management/openapi.json").json()
    vague = [(method, path) for path, item in spec["paths"].items() for method, operation in item.items()
             if "requestBody" in operation
             and not operation["requestBody"]["content"]["application/json"]["schema"].get("properties")]
    assert vague == []
