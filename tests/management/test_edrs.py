"""``/v3/edrs`` between two in-process connectors: negotiate-and-transfer in one call, the EDR cache.

The provider serves a stored PCF document; the consumer's refreshes reach the provider's real
token endpoint (tests/transfers/conftest.py), so a refreshed token is one the provider accepts,
and the replaced one is one it refuses.
"""

from __future__ import annotations

import pytest

from tests.transfers.conftest import CONSUMER_ID, PCF, PROVIDER_ID, VOCAB, make_pair, ok

EDRS = "/management/v3/edrs"


@pytest.fixture
def two(tmp_path):  # type: ignore[no-untyped-def]
    yield from make_pair(tmp_path)


def query(**filters: str) -> dict:
    return {"@context": VOCAB, "@type": "QuerySpec", "filterExpression": [
        {"operandLeft": key, "operator": "=", "operandRight": value} for key, value in filters.items()]}


def pull(two, address: dict) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    assert address["endpoint"] == "http://provider.test/api/public"
    r = two.provider.get("/api/public", headers={"Authorization": address["authorization"]})
    return r.status_code, (r.json() if r.status_code == 200 else r.text)


def test_one_call_negotiates_and_starts_the_pull_transfer(two) -> None:  # type: ignore[no-untyped-def]
    two.publish()
    created = ok(two.consumer.post(EDRS, json=two.contract_request()))
    assert created["@type"] == "IdResponse"
    neg = two.wait(two.consumer, f"/management/v3/contractnegotiations/{created['@id']}")  # the id is the negotiation's
    assert neg["state"] == "FINALIZED"
    assert [c["uri"] for c in neg["callbackAddresses"]] == ["local://adapter"]
    tp = two.transfer_of(neg["contractAgreementId"])
    assert tp["state"] == "STARTED" and tp["transferType"] == "HttpData-PULL" and tp["type"] == "CONSUMER"


def test_the_data_address_has_the_compacted_keys_tractusx_sdk_reads(two) -> None:  # type: ignore[no-untyped-def]
    two.publish()
    _, tp = two.negotiate_edr()
    address = ok(two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress", params={"auto_refresh": "true"}))
    assert address["@type"] == "DataAddress" and address["endpointType"] == "https://w3id.org/idsa/v4.1/HTTP"
    assert address["authType"] == "bearer" and address["tx-auth:refreshEndpoint"].endswith("/api/public/token")
    assert address["tx-auth:refreshToken"] and address["tx-auth:refreshAudience"] == PROVIDER_ID
    assert address["@context"]["tx-auth"] == "https://w3id.org/tractusx/auth/"
    assert pull(two, address) == (200, PCF)


def test_entries_can_be_queried_by_every_key(two) -> None:  # type: ignore[no-untyped-def]
    two.publish()
    neg, tp = two.negotiate_edr()
    agreement_id = neg["contractAgreementId"]
    for key, value in (("assetId", "pcf-NG-WC-400"), ("agreementId", agreement_id),
                       ("contractNegotiationId", neg["@id"]), ("providerId", PROVIDER_ID),
                       ("transferProcessId", tp["@id"])):
        [entry] = ok(two.consumer.post(f"{EDRS}/request", json=query(**{key: value})))
        assert entry == {**entry, "@type": "EndpointDataReferenceEntry", "@id": tp["@id"], "transferProcessId": tp["@id"],
                         "agreementId": agreement_id, "contractNegotiationId": neg["@id"],
                         "assetId": "pcf-NG-WC-400", "providerId": PROVIDER_ID}, key
        assert ok(two.consumer.post(f"{EDRS}/request", json=query(**{key: "urn:uuid:other"}))) == [], key
    assert len(ok(two.consumer.post(f"{EDRS}/request", json={"@context": VOCAB}))) == 1
    r = two.consumer.post(f"{EDRS}/request", json={"@context": VOCAB, "filterExpression": [
        {"operandLeft": "contractNegotiationId", "operator": "like", "operandRight": "urn:%"}]})
    assert r.status_code == 400 and "contractNegotiationId" in r.json()[0]["message"]


def test_refresh_rotates_the_token_the_provider_accepts(two) -> None:  # type: ignore[no-untyped-def]
    two.publish()
    _, tp = two.negotiate_edr()
    before = ok(two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))
    after = ok(two.consumer.post(f"{EDRS}/{tp['@id']}/refresh"))
    assert after["authorization"] != before["authorization"]
    assert after["tx-auth:refreshToken"] != before["tx-auth:refreshToken"]
    assert pull(two, after)[0] == 200
    assert pull(two, before)[0] == 401  # the provider replaced it
    assert ok(two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))["authorization"] == after["authorization"]


def test_auto_refresh_renews_a_token_inside_the_margin_and_only_then(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a margin longer than the provider's 300 s tokens: every lookup finds the token "about to expire"
    for two in make_pair(tmp_path, consumer_extra={"edr_refresh_margin_seconds": 600}):
        two.publish()
        _, tp = two.negotiate_edr()
        path = f"{EDRS}/{tp['@id']}/dataaddress"
        first = ok(two.consumer.get(path, params={"auto_refresh": "false"}))
        assert ok(two.consumer.get(path, params={"auto_refresh": "false"}))["authorization"] == first["authorization"]
        refreshed = ok(two.consumer.get(path))  # auto_refresh defaults to true
        assert refreshed["authorization"] != first["authorization"] and pull(two, refreshed)[0] == 200
        r = two.consumer.get(path, params={"auto_refresh": "maybe"})
        assert r.status_code == 400 and r.json()[0]["path"] == "auto_refresh"


def test_delete_forgets_the_edr_and_completes_its_transfer(two) -> None:  # type: ignore[no-untyped-def]
    two.publish()
    _, tp = two.negotiate_edr()
    address = ok(two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))
    ok(two.consumer.delete(f"{EDRS}/{tp['@id']}"), 204)
    assert ok(two.consumer.post(f"{EDRS}/request", json={"@context": VOCAB})) == []
    r = two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress")
    assert r.status_code == 404 and "no EDR" in r.json()[0]["message"]
    two.wait(two.consumer, f"/management/v3/transferprocesses/{tp['@id']}", ("COMPLETED",))
    [provider_side] = ok(two.provider.post("/management/v3/transferprocesses/request", json={"@context": VOCAB}))
    two.wait(two.provider, f"/management/v3/transferprocesses/{provider_side['@id']}", ("COMPLETED",))
    assert pull(two, address)[0] == 403  # the provider revoked the token when the transfer completed
    assert two.consumer.delete(f"{EDRS}/{tp['@id']}").status_code == 404


def test_a_terminated_transfer_has_no_usable_edr_and_says_why(two) -> None:  # type: ignore[no-untyped-def]
    two.publish()
    _, tp = two.negotiate_edr()
    ok(two.consumer.post(f"/management/v3/transferprocesses/{tp['@id']}/terminate",
                         json={"@context": VOCAB, "reason": "supplier changed"}), 204)
    two.wait(two.consumer, f"/management/v3/transferprocesses/{tp['@id']}", ("TERMINATED",))
    r = two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress")
    assert r.status_code == 409 and "TERMINATED" in r.json()[0]["message"] and "supplier changed" in r.json()[0]["message"]
    assert ok(two.consumer.post(f"{EDRS}/request", json={"@context": VOCAB})) == []


def test_a_refused_negotiation_starts_no_transfer(two) -> None:  # type: ignore[no-untyped-def]
    two.publish()
    body = two.contract_request()
    body["policy"]["odrl:permission"] = {"odrl:action": {"@id": "odrl:use"}}  # not the offer the provider made
    created = ok(two.consumer.post(EDRS, json=body))
    neg = two.wait(two.consumer, f"/management/v3/contractnegotiations/{created['@id']}")
    assert neg["state"] == "TERMINATED" and neg["errorDetail"]
    assert ok(two.consumer.post("/management/v3/transferprocesses/request", json={"@context": VOCAB})) == []


@pytest.mark.parametrize("change, field", [
    ({"transferType": "HttpData-STREAM"}, "transferType"),
    ({"transferType": "HttpData-PUSH"}, "dataDestination"),
    ({"counterPartyAddress": "nowhere"}, "counterPartyAddress"),
])
def test_bad_edr_requests_name_their_field(two, change, field) -> None:  # type: ignore[no-untyped-def]
    two.publish()
    r = two.consumer.post(EDRS, json=two.contract_request(**change))
    assert r.status_code == 400 and r.json()[0]["path"] == field, r.text


def test_unknown_transfers_have_no_edr(two) -> None:  # type: ignore[no-untyped-def]
    for method, path in (("GET", "/urn:uuid:x/dataaddress"), ("POST", "/urn:uuid:x/refresh"),
                         ("DELETE", "/urn:uuid:x")):
        r = two.consumer.request(method, EDRS + path)
        assert r.status_code == 404 and r.json()[0]["type"] == "ObjectNotFound", (method, path, r.text)
    assert CONSUMER_ID  # the consumer is who asks; the provider has no EDR cache entries of its own
    assert ok(two.provider.post(f"{EDRS}/request", json={"@context": VOCAB})) == []
