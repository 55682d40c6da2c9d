"""What a pull consumer gets: published documents, stored files, and an HttpData backend proxied."""

import json

import pytest

from tests.dataplane.backend import MIB, pattern

PCF = {
    "@context": {"@vocab": "https://w3id.org/catenax/pcf/"},
    "@id": "urn:uuid:pcf-1", "productId": "NG-WC-400", "pcfExcludingBiogenic": 2.45, "unit": "kg CO2e",
}


def test_a_published_document_is_served_as_json_ld(dw):
    edr = dw.pull("pcf", {"type": "PontisDocument", "document": PCF})
    answer = dw.fetch(edr)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/ld+json"
    assert answer.json() == PCF
    # the EDR is what the Tractus-X profile describes
    assert edr.endpoint == dw.public and edr.properties["https://w3id.org/edc/v0.0.1/ns/authType"] == "bearer"
    assert edr.properties["https://w3id.org/edc/v0.0.1/ns/endpoint"] == dw.public
    assert edr.properties["https://w3id.org/tractusx/auth/expiresIn"] == "300"
    assert edr.refresh_endpoint == dw.public + "/token"


def test_a_document_stored_as_a_json_ld_literal_or_text_is_served_too(dw):
    literal = dw.pull("lit", {"type": "PontisDocument", "document": {"@type": "@json", "@value": PCF}})
    assert dw.fetch(literal).json() == PCF
    text = dw.pull("txt", {"type": "PontisDocument", "document": json.dumps(PCF), "contentType": "application/json"})
    answer = dw.fetch(text)
    assert answer.json() == PCF and answer.headers["content-type"] == "application/json"


def test_a_document_is_read_only_and_has_no_sub_paths(dw):
    edr = dw.pull("pcf", {"type": "PontisDocument", "document": PCF})
    assert dw.fetch(edr, method="POST", content=b"{}").status_code == 405
    missing = dw.fetch(edr, path="other")
    assert missing.status_code == 404 and "one document" in missing.json()["reason"]


def test_a_stored_file_is_served_and_cannot_escape_its_folder(dw):
    (dw.files / "parts.bin").write_bytes(pattern(3 * MIB + 17))
    edr = dw.pull("file", {"type": "PontisFile", "path": "parts.bin"})
    answer = dw.fetch(edr)
    assert answer.status_code == 200 and answer.content == pattern(3 * MIB + 17)
    assert answer.headers["content-length"] == str(3 * MIB + 17)
    escape = dw.pull("escape", {"type": "PontisFile", "path": "../provider.db"})
    assert dw.fetch(escape).status_code == 404


def test_proxy_passes_path_query_method_and_body_when_allowed(dw):
    edr = dw.pull("echo", {"type": "HttpData", "baseUrl": dw.backend.url + "/echo", "proxyPath": "true",
                           "proxyQueryParams": "true", "proxyMethod": "true", "proxyBody": "true",
                           "queryParams": "fixed=1"})
    answer = dw.fetch(edr, path="parts/42", method="PUT", params={"view": "full"}, content=b'{"mass": 3.2}',
                      headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    assert seen["method"] == "PUT" and seen["path"] == "/echo/parts/42"
    assert seen["query"] == "fixed=1&view=full" and seen["body"] == '{"mass": 3.2}'
    assert seen["headers"]["content-type"] == "application/json"
    # the consumer's EDR never reaches the company's backend
    assert "authorization" not in seen["headers"]
    # backend headers come back (minus hop-by-hop ones)
    assert answer.headers["x-backend"] == "yes" and answer.headers["etag"] == '"v1"'


def test_proxy_keeps_to_the_address_when_nothing_is_allowed(dw):
    edr = dw.pull("fixed", {"type": "HttpData", "baseUrl": dw.backend.url + "/echo", "path": "catalog"})
    seen = dw.fetch(edr, path="parts/42", method="POST", params={"x": "1"}, content=b"ignored").json()
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == ("GET", "/echo/catalog", "", "")


def test_headers_and_an_auth_key_go_to_the_backend(dw):
    edr = dw.pull("hdr", {"type": "HttpData", "baseUrl": dw.backend.url + "/echo", "header:X-Api-Version": "3",
                          "authKey": "X-Api-Key", "authCode": "backend-secret"})
    seen = dw.fetch(edr).json()["headers"]
    assert seen["x-api-version"] == "3" and seen["x-api-key"] == "backend-secret"


def test_oauth2_client_credentials_are_fetched_once_and_renewed_after_expiry(dw):
    address = {"type": "HttpData", "baseUrl": dw.backend.url + "/protected",
               "oauth2:tokenUrl": dw.backend.url + "/oauth/token", "oauth2:clientId": "pontis",
               "oauth2:clientSecret": "s3cret", "oauth2:scope": "parts"}
    edr = dw.pull("oauth", address)
    first = dw.fetch(edr)
    assert first.status_code == 200, first.text
    assert first.json()["token"] == "tok-1-parts"
    assert dw.fetch(edr).json()["token"] == "tok-1-parts"
    assert dw.rec.token_calls == 1  # cached
    dw.clock.advance(240)  # our EDR (300 s) needs a refresh; the backend's token (300 s, renewed 30 s early) not yet
    fresh = dw.refresh(edr.token, edr.refresh_token).json()
    mid = dw.fetch(fresh["access_token"])
    assert mid.status_code == 200 and mid.json()["token"] == "tok-1-parts", (fresh, mid.text)
    dw.clock.advance(50)
    again = dw.fetch(fresh["access_token"])
    assert again.status_code == 200 and again.json()["token"] == "tok-2-parts"
    assert dw.rec.token_calls == 2


def test_oauth2_with_wrong_credentials_is_a_bad_gateway_with_a_reason(dw):
    edr = dw.pull("oauth-bad", {"type": "HttpData", "baseUrl": dw.backend.url + "/protected",
                                "oauth2:tokenUrl": dw.backend.url + "/oauth/token", "oauth2:clientId": "pontis",
                                "oauth2:clientSecret": "wrong"})
    answer = dw.fetch(edr)
    assert answer.status_code == 502 and "HTTP 401" in answer.json()["reason"]


def test_backend_status_codes_pass_through(dw):
    edr = dw.pull("status", {"type": "HttpData", "baseUrl": dw.backend.url + "/status", "proxyPath": "true"})
    for code in (404, 500, 201, 409):
        answer = dw.fetch(edr, path=str(code))
        assert answer.status_code == code
        assert answer.json() == {"status": code, "from": "backend"}
    # a backend answering an error does not end the transfer
    assert dw.provider_transfer(edr.provider_pid).state == "STARTED"


def test_an_unreachable_backend_is_a_bad_gateway(dw):
    from connector.cli.launch import free_port

    edr = dw.pull("down", {"type": "HttpData", "baseUrl": f"http://127.0.0.1:{free_port()}/gone"})
    answer = dw.fetch(edr)
    assert answer.status_code == 502 and answer.json()["error"] == "backend_unreachable"


def test_an_unknown_data_address_type_is_refused_with_a_reason(dw):
    edr = dw.pull("s3", {"type": "AmazonS3", "bucket": "b"})
    answer = dw.fetch(edr)
    assert answer.status_code == 501 and "AmazonS3" in answer.json()["reason"]


@pytest.mark.parametrize("escape", [
    "..%2fstatus%2f200", "%2e%2e%2fstatus%2f200", "..%252fstatus%252f200", "%252e%252e/status/200",
    "parts/..%2f..%2fstatus/200", "..%5cstatus%5c200", "%2e%2e",
])
def test_a_proxied_path_cannot_climb_out_of_the_base_path(dw, escape):
    """Issue 8: ``..%2f..%2fadmin`` reached ``/admin`` on the backend."""
    edr = dw.pull("climb", {"type": "HttpData", "baseUrl": dw.backend.url + "/echo", "proxyPath": "true"})
    answer = dw.fetch(edr, path=escape)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "path_refused" and "base path" in answer.json()["reason"]
    assert dw.fetch(edr, path="parts/42").json()["path"] == "/echo/parts/42"  # a path below it still works
