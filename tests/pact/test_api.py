"""The PACT API in process: tokens, list and get with the client's policies, filters, paging, errors."""

from __future__ import annotations

import base64

from connector.pcf.models import PcfFormat, validate
from tests.harness import settle
from tests.pact.conftest import CLIENTS, Supplier


def ids_of(response) -> set[str]:
    return {pf["productIds"][0] for pf in response.json()["data"]}


# ---- /auth/token ------------------------------------------------------------------------------
def test_a_client_gets_a_bearer_token(supplier):
    client = CLIENTS["achsen"]
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    response = supplier.http.post("/auth/token", data={"grant_type": "client_credentials"},
                                  headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"]
    assert response.headers["cache-control"] == "no-store"
    # the credentials in the form work too (client_secret_post)
    response = supplier.http.post("/auth/token", data={"grant_type": "client_credentials", **{
        k: client[k] for k in ("client_id", "client_secret")}})
    assert response.status_code == 200


def test_wrong_credentials_and_grants_are_refused(supplier):
    bad = base64.b64encode(b"achsen-pact:not-the-secret").decode()
    response = supplier.http.post("/auth/token", data={"grant_type": "client_credentials"},
                                  headers={"Authorization": f"Basic {bad}"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    unknown = base64.b64encode(b"nobody:whatever-secret-1234").decode()
    response = supplier.http.post("/auth/token", data={"grant_type": "client_credentials"},
                                  headers={"Authorization": f"Basic {unknown}"})
    assert response.status_code == 401
    response = supplier.http.post("/auth/token", data={"grant_type": "password"},
                                  headers={"Authorization": f"Basic {bad}"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_an_invalid_token_is_a_bad_request_and_an_expired_one_says_so(supplier):
    response = supplier.http.get("/3/footprints", headers={"Authorization": "Bearer invalid-access-token"})
    assert response.status_code == 400 and response.json()["code"] == "BadRequest"
    assert supplier.http.get("/3/footprints").status_code == 400
    token = supplier.token("achsen")
    supplier.clock.advance(3601)
    response = supplier.http.get("/3/footprints", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["code"] == "TokenExpired"


def test_plain_http_is_refused(supplier):
    insecure = supplier.http.__class__(supplier.app, base_url="http://nordguss.example")
    token = supplier.token("achsen")
    response = insecure.get("/3/footprints", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and "HTTPS" in response.json()["message"]
    assert "data" not in response.json()
    response = insecure.post("/auth/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 400 and "access_token" not in response.text


# ---- who sees what ------------------------------------------------------------------------------
def test_each_client_sees_what_its_bpn_may_see(supplier):
    achsen = supplier.get("/3/footprints", "achsen")
    assert achsen.status_code == 200
    assert ids_of(achsen) == {"urn:mpn:NG-WC-400", "urn:mpn:NG-HB-210", "urn:mpn:NG-SECRET-1"}
    assert ids_of(supplier.get("/3/footprints", "motorwerke")) == {"urn:mpn:NG-WC-400", "urn:mpn:NG-HB-210"}
    assert supplier.get("/3/footprints", "outsider").json() == {"data": []}


def test_footprints_are_valid_pact_v3_and_v2(supplier):
    for pf in supplier.get("/3/footprints", "achsen").json()["data"]:
        assert pf["specVersion"] == "3.0.0" and validate(pf, PcfFormat.PACT3) == []
        assert isinstance(pf["pcf"]["pcfExcludingBiogenicUptake"], str)
    for pf in supplier.get("/2/footprints", "achsen").json()["data"]:
        assert pf["specVersion"].startswith("2.") and validate(pf, PcfFormat.PACT2) == []


def test_get_by_id_and_the_hidden_one_is_not_found(supplier):
    listed = {pf["productIds"][0]: pf for pf in supplier.get("/3/footprints", "achsen").json()["data"]}
    secret = listed["urn:mpn:NG-SECRET-1"]["id"]
    response = supplier.get(f"/3/footprints/{secret}", "achsen")
    assert response.status_code == 200 and response.json()["data"]["id"] == secret
    assert response.json()["data"]["pcf"]["pcfExcludingBiogenicUptake"] == "7"
    response = supplier.get(f"/3/footprints/{secret}", "motorwerke")
    assert response.status_code == 404 and response.json()["code"] == "NotFound"
    response = supplier.get(f"/2/footprints/{secret}", "motorwerke")
    assert response.status_code == 404 and response.json()["code"] == "NoSuchFootprint"
    response = supplier.get("/3/footprints/non-existent-id", "achsen")
    assert response.status_code == 404 and "non-existent-id" in response.json()["message"]


def test_an_updated_footprint_lists_both_versions_with_their_status(supplier):
    from tests.pact.conftest import footprint
    supplier.publish([footprint("NG-WC-400", 11.0)])
    data = supplier.get("/3/footprints", "motorwerke", productId="urn:mpn:NG-WC-400").json()["data"]
    assert sorted(pf["status"] for pf in data) == ["Active", "Deprecated"]
    new = next(pf for pf in data if pf["status"] == "Active")
    old = next(pf for pf in data if pf["status"] == "Deprecated")
    assert new["precedingPfIds"] == [old["id"]]
    active = supplier.get("/3/footprints", "motorwerke", productId="urn:mpn:NG-WC-400", status="active").json()
    assert [pf["id"] for pf in active["data"]] == [new["id"]]


# ---- filters and paging -------------------------------------------------------------------------
def test_v3_filters(supplier):
    get = supplier.get
    assert ids_of(get("/3/footprints", "achsen", productId="URN:MPN:NG-WC-400")) == {"urn:mpn:NG-WC-400"}
    assert ids_of(get("/3/footprints", "achsen", productId=["urn:mpn:NG-WC-400", "urn:mpn:NG-HB-210"])) == {
        "urn:mpn:NG-WC-400", "urn:mpn:NG-HB-210"}
    assert ids_of(get("/3/footprints", "achsen", geography="PL")) == {"urn:mpn:NG-HB-210"}
    assert len(get("/3/footprints", "achsen", companyId="urn:BPNL0000000NGUSS").json()["data"]) == 3
    assert get("/3/footprints", "achsen", companyId="urn:bogus:company:x").json() == {"data": []}
    assert get("/3/footprints", "achsen", classification="urn:bogus:classification:x").json() == {"data": []}
    assert len(get("/3/footprints", "achsen", validOn="2026-12-01T00:00:00Z").json()["data"]) == 3
    assert get("/3/footprints", "achsen", validOn="1900-01-01T00:00:00Z").json() == {"data": []}
    assert get("/3/footprints", "achsen", validAfter="2099-12-31T23:59:59Z").json() == {"data": []}
    assert get("/3/footprints", "achsen", validBefore="1900-01-01T00:00:00Z").json() == {"data": []}
    assert len(get("/3/footprints", "achsen", status="Active").json()["data"]) == 3
    assert get("/3/footprints", "achsen", status="BogusStatusValue").json() == {"data": []}
    both = get("/3/footprints", "achsen", status="Active", productId="urn:mpn:NG-HB-210")
    assert ids_of(both) == {"urn:mpn:NG-HB-210"}


def test_bad_parameters_are_refused_naming_them(supplier):
    response = supplier.get("/3/footprints", "achsen", productid="urn:mpn:NG-WC-400")
    assert response.status_code == 400 and "did you mean 'productId'" in response.json()["message"]
    response = supplier.get("/3/footprints", "achsen", validOn="yesterday")
    assert response.status_code == 400 and response.json()["message"].startswith("validOn:")
    response = supplier.get("/3/footprints", "achsen", limit="ten")
    assert response.status_code == 400 and response.json()["message"].startswith("limit:")
    assert supplier.get("/3/footprints", "achsen", **{"x-pontis-trace": "1"}).status_code == 200
    response = supplier.get("/2/footprints", "achsen", **{"$filter": "pcf/declaredUnit eq 'kilogram'"})
    assert response.status_code == 400 and response.json()["code"] == "NotImplemented"


def test_paging_follows_link_next_until_the_end(supplier):
    token = supplier.token("achsen")
    url, seen, pages = "/3/footprints?limit=2", [], 0
    while url:
        response = supplier.http.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        data = response.json()["data"]
        assert len(data) <= 2
        seen += [pf["id"] for pf in data]
        pages += 1
        link = response.headers.get("link")
        if link:
            assert link.endswith('; rel="next"') and link.startswith("<https://nordguss.example/3/footprints?")
            url = link[1:link.index(">")]
        else:
            url = None
    assert pages == 2 and len(seen) == len(set(seen)) == 3


def test_paging_keeps_the_filters(supplier):
    response = supplier.get("/3/footprints", "achsen", limit=1, geography="DE")
    link = response.headers["link"]
    assert "geography=DE" in link and "offset=1" in link and len(response.json()["data"]) == 1


def test_without_pact_config_there_is_no_pact_api(tmp_path):
    s = Supplier(tmp_path)
    s.settings.pact = None
    from fastapi.testclient import TestClient

    from connector.app import create_app
    app = create_app(s.settings, s.services, run_worker=False)
    with TestClient(app, base_url="https://x") as http:
        assert http.post("/auth/token", data={"grant_type": "client_credentials"}).status_code == 404


def test_a_request_from_a_client_without_an_events_endpoint_is_accepted_and_not_answered(supplier, caplog):
    import logging
    caplog.set_level(logging.INFO, logger="pontis.pact")
    response = supplier.http.post("/3/events", headers={
        "Authorization": f"Bearer {supplier.token('motorwerke')}", "Content-Type": "application/cloudevents+json"},
        json={"specversion": "1.0", "id": "req-9", "source": "//pact.motorwerke.example/3/events",
              "time": "2026-11-07T08:00:00Z", "type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
              "data": {"productId": ["urn:mpn:NG-WC-400"]}})
    assert response.status_code == 200 and response.content == b""
    settle(until=lambda: "cannot answer request req-9" in caplog.text, timeout=5,
           what="the supplier to log that it cannot answer req-9")
    assert "has no events_client_id" in caplog.text
    assert supplier.app.state.pact.events.sent == []


def test_requests_are_answered_at_a_configured_endpoint_fulfilled_or_rejected(tmp_path):
    from tests.pact.conftest import Requester, footprint
    requester = Requester(require_token=False)  # a requester that takes events without a token
    achsen = {**CLIENTS["achsen"], "events_url": requester.url + "/3/events"}
    s = Supplier(tmp_path, clients=[achsen, CLIENTS["motorwerke"]])
    try:
        with s.http:
            s.publish([footprint("NG-WC-400", 12.5)])
            headers = {"Authorization": f"Bearer {s.token('achsen')}", "Content-Type": "application/cloudevents+json"}
            base = {"specversion": "1.0", "source": "//ignored.example/3/events", "time": "2026-11-07T08:00:00Z",
                    "type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3"}
            assert s.http.post("/3/events", headers=headers, json={
                **base, "id": "req-1", "data": {"pf": {"productIds": ["urn:mpn:NG-WC-400"]}}}).status_code == 200
            assert s.http.post("/3/events", headers=headers, json={
                **base, "id": "req-2", "data": {"productId": ["urn:bogus:product:x"]}}).status_code == 200
            settle(until=lambda: len(requester.events) >= 2, timeout=10, what="answers to req-1 and req-2")
    finally:
        requester.stop()
    answers = {e["data"]["requestEventId"]: e for e in requester.events}
    assert answers["req-1"]["type"].endswith("RequestFulfilledEvent.3")
    assert [pf["productIds"] for pf in answers["req-1"]["data"]["pfs"]] == [["urn:mpn:NG-WC-400"]]
    assert answers["req-2"]["type"].endswith("RequestRejectedEvent.3")
    assert answers["req-2"]["data"]["error"]["code"] == "NotFound"
    assert requester.tokens == 0


def test_clients_with_an_events_endpoint_hear_of_new_footprints_they_may_see(tmp_path):
    import time

    from tests.pact.conftest import Requester, footprint
    requester = Requester(require_token=False)
    achsen = {**CLIENTS["achsen"], "events_url": requester.url + "/3/events"}
    motorwerke = {**CLIENTS["motorwerke"], "events_url": requester.url + "/3/events"}
    s = Supplier(tmp_path, clients=[achsen, motorwerke])
    s.app.state.pact.poll_seconds = 0.05
    try:
        with s.http:
            time.sleep(0.2)  # the watch starts from what exists
            [old] = s.publish([footprint("NG-WC-400", 12.5)])
            [secret] = s.publish([footprint("NG-SECRET-1", 7.0)], access_policy="achsen-only-access")
            s.clock.advance(1)
            [new] = s.publish([footprint("NG-WC-400", 11.0)])  # the update deprecates the old one
            settle(until=lambda: len({i for e in requester.events for i in e["data"]["pfIds"]}) >= 3, timeout=10,
                   what="PublishedEvents naming all three footprints")
            time.sleep(0.3)  # and no more: an event sent that should not be would arrive by now
    finally:
        requester.stop()
    assert all(e["type"] == "org.wbcsd.pact.ProductFootprint.PublishedEvent.3" for e in requester.events)
    told = [i for e in requester.events for i in e["data"]["pfIds"]]
    # Achsen hears of all three, Motorwerke of the two it may see; each once
    assert sorted(told) == sorted([old.id, old.id, secret.id, new.id, new.id])


def test_a_broken_footprints_file_stops_the_start_naming_the_file_and_field(tmp_path):
    import json

    import pytest

    from connector.config import ConfigError
    from tests.pact.conftest import footprint
    bad = footprint("NG-WC-400", 12.5)
    bad["pcf"]["declaredUnitOfMeasurement"] = "pieces"
    (tmp_path / "footprints.json").write_text(json.dumps([bad]))
    s = Supplier(tmp_path, footprints_file=str(tmp_path / "footprints.json"))
    with pytest.raises(ConfigError) as caught:
        with s.http:
            pass
    assert "footprints.json" in str(caught.value) and "pcf.declaredUnitOfMeasurement" in str(caught.value)
    assert s.services.pcf.list() == []
