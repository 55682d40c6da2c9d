"""Factory-X ADR 002 (authorization and discovery) TEST.mdx scenarios that run on one machine, between
two in-process connectors (tests/transfers/conftest.py): HttpData-PULL in the catalog, the EDR with
the five endpointProperties, a pull with the token, a refresh, and refusals without a valid token.

The provider of ``fx`` runs ``[profile] dataspace = "factory-x"`` on a clock the test moves
(tests/harness.Clock). A misbehaving or foreign peer (a TransferStartMessage without the token, a
catalog with other formats) is a message the test crafts, never a change to our own code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connector.config import ProfileSettings
from tests.harness import Clock, settle
from tests.transfers.conftest import PCF, VOCAB, Pair, make_pair, ok

from . import test_adr003 as hercules
from .scenario_map import Runner

EDRS = "/management/v3/edrs"
EDC, TX = "https://w3id.org/edc/v0.0.1/ns/", "https://w3id.org/tractusx/auth/"


DSPACE = ["https://w3id.org/dspace/2025/1/context.jsonld"]
FACTORY_X = {"profile": ProfileSettings(dataspace="factory-x")}


@pytest.fixture
def two(tmp_path: Path) -> Iterator[Pair]:
    yield from make_pair(tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fx(tmp_path: Path, clock: Clock) -> Iterator[Pair]:
    """Both connectors in the Factory-X profile, on the test's clock."""
    yield from make_pair(tmp_path, consumer_extra=FACTORY_X, provider_extra=FACTORY_X, clock=clock)


def _formats_by_dataset(two: Pair, address: str) -> dict[str, list[str]]:
    catalog = ok(two.consumer.post("/management/v3/catalog/request", json={
        "@context": VOCAB, "counterPartyAddress": address, "protocol": "dataspace-protocol-http:2025-1"}))
    datasets = catalog.get("dcat:dataset") or catalog.get("dataset") or []
    out: dict[str, list[str]] = {}
    for dataset in datasets if isinstance(datasets, list) else [datasets]:
        dists = dataset.get("dcat:distribution") or dataset.get("distribution") or []
        for dist in dists if isinstance(dists, list) else [dists]:
            fmt = dist.get("dct:format") or dist.get("format")
            out.setdefault(dataset["@id"], []).append(fmt.get("@id") if isinstance(fmt, dict) else fmt)
    return out


def _formats(two: Pair) -> list[str]:
    return [f for formats in _formats_by_dataset(two, two.provider_dsp).values() for f in formats]


def _edr(two: Pair) -> tuple[dict, dict]:
    """(the consumer's transfer, its EDR data address) after ``POST /v3/edrs``."""
    two.publish()
    _, tp = two.negotiate_edr()
    assert tp["state"] == "STARTED", tp
    return tp, ok(two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))


def _pull(two: Pair, token: str):  # type: ignore[no-untyped-def]
    return two.provider.get("/api/public", headers={"Authorization": token})


def test_smoke_the_catalog_offers_httpdata_pull(two: Pair) -> None:
    two.publish()
    assert "HttpData-PULL" in _formats(two)


def test_smoke_the_edr_carries_the_five_endpoint_properties_and_pulls(two: Pair) -> None:
    two.publish()
    _, tp = two.negotiate_edr()
    assert tp["transferType"] == "HttpData-PULL"
    address = ok(two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))
    assert address["endpointType"] == "https://w3id.org/idsa/v4.1/HTTP"
    names = {k.replace("tx-auth:", TX).replace("edc:", EDC) for k in address}
    for prop in (TX + "refreshEndpoint", TX + "refreshToken", TX + "expiresIn"):
        assert prop in names, (prop, sorted(address))
    assert address["authorization"] and address["authType"] == "bearer"
    response = two.provider.get("/api/public", headers={"Authorization": address["authorization"]})
    assert response.status_code == 200 and response.json() == PCF


def test_edge_a_refresh_gives_a_token_that_works(two: Pair) -> None:
    two.publish()
    _, tp = two.negotiate_edr()
    before = ok(two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))
    after = ok(two.consumer.post(f"{EDRS}/{tp['@id']}/refresh"))
    assert after["authorization"] != before["authorization"]
    assert two.provider.get("/api/public", headers={"Authorization": after["authorization"]}).status_code == 200
    assert two.provider.get("/api/public", headers={"Authorization": before["authorization"]}).status_code == 401


def test_negative_no_agreement_no_data(two: Pair) -> None:
    two.publish()
    assert two.provider.get("/api/public").status_code in (401, 403)
    forged = two.provider.get("/api/public", headers={"Authorization": "eyJhbGciOiJFZERTQSJ9.e30.c2ln"})
    assert forged.status_code in (401, 403)


def test_smoke_the_transfer_start_message_names_the_properties_by_full_iri(two: Pair) -> None:
    from sqlmodel import select

    from connector.store.models import TransferProcess

    two.publish()
    _, tp = two.negotiate_edr()
    with two.consumer_services.db.read() as session:
        row = session.exec(select(TransferProcess).where(TransferProcess.id == tp["@id"])).one()
    address = row.data_address or {}
    props = {p.get("name") for p in address.get("endpointProperties", [])}
    assert address.get("endpointType") == "https://w3id.org/idsa/v4.1/HTTP", address
    for name in (TX + "refreshEndpoint", TX + "refreshToken", TX + "expiresIn"):
        assert name in props, (name, sorted(props))
    # ADR 002 names the EDC ones by full IRI, as Tractus-X EDC writes and reads them (a property name is a
    # plain string in the DSP context: no compact form expands to the IRI)
    for term in ("endpoint", "authorization", "authType"):
        assert EDC + term in props and term not in props, (term, sorted(props))


def test_edge_an_edr_with_bare_names_from_an_older_peer_is_read_too() -> None:
    from connector.protocol.transfer_messages import DataAddress
    from connector.services.received_edrs import prop, with_props

    for name in ("authorization", EDC + "authorization", "edc:authorization"):
        address = {"endpointType": "https://w3id.org/idsa/v4.1/HTTP", "endpoint": "https://p.example/api/public",
                   "endpointProperties": [{"@type": "EndpointProperty", "name": name, "value": "tok"},
                                          {"@type": "EndpointProperty", "name": TX + "expiresIn", "value": "60"}]}
        assert prop(address, "authorization") == "tok" and prop(address, EDC + "authorization") == "tok", name
        assert prop(address, "expiresIn") == "60"
        # a refresh replaces the token under the name the peer gave it, adding no second one
        updated = with_props(address, {"authorization": "new"})
        assert [p["name"] for p in updated["endpointProperties"]] == [name, TX + "expiresIn"]
        assert prop(updated, EDC + "authorization") == "new"
        typed = DataAddress.from_json({"@type": "DataAddress", **address})
        assert (typed.get("authorization") == "tok") is (name != "edc:authorization")


# --- the scenarios the first tests left open ------------------------------------------------------


def test_smoke_the_access_token_is_accepted_with_the_auth_type_prefix(fx: Pair) -> None:
    """The access token the negotiation earned, sent as ADR 002 says: ``Authorization: <authType> <token>``
    (the DSP calls before it were authenticated with the caller's identity token; in dcp mode an
    STS token: tests/factoryx/test_adr003.py)."""
    _, address = _edr(fx)
    token = address["authorization"]
    prefixed = token if token.lower().startswith(address["authType"].lower() + " ") else \
        f"{address['authType'].capitalize()} {token}"
    response = _pull(fx, prefixed)
    assert response.status_code == 200 and response.json() == PCF


def test_edge_a_token_one_second_before_its_ttl_still_pulls_and_a_refresh_gives_a_new_one(fx: Pair,
                                                                                       clock: Clock) -> None:
    _, address = _edr(fx)
    ttl = int(address["tx-auth:expiresIn"] if "tx-auth:expiresIn" in address else address[TX + "expiresIn"])
    clock.advance(ttl - 1)  # the token expires in exactly one second
    assert _pull(fx, address["authorization"]).status_code == 200
    tp = ok(fx.consumer.post("/management/v3/transferprocesses/request", json={"@context": VOCAB}))[-1]
    renewed = ok(fx.consumer.post(f"{EDRS}/{tp['@id']}/refresh"))
    assert renewed["authorization"] != address["authorization"]
    clock.advance(2)  # the first token's TTL is over; the new one's is not
    response = _pull(fx, renewed["authorization"])
    assert response.status_code == 200 and response.json() == PCF


def test_edge_an_expired_token_is_refreshed_with_the_refresh_token_and_the_new_one_pulls(fx: Pair,
                                                                                        clock: Clock) -> None:
    tp, address = _edr(fx)
    clock.advance(int(address.get("tx-auth:expiresIn") or address[TX + "expiresIn"]) + 5)
    assert _pull(fx, address["authorization"]).status_code == 401
    # RFC 6749 §6: the refresh token, with the (expired) access token as the caller's proof
    renewed = ok(fx.consumer.post(f"{EDRS}/{tp['@id']}/refresh"))
    response = _pull(fx, renewed["authorization"])
    assert response.status_code == 200 and response.json() == PCF


def test_negative_an_expired_token_gets_401_saying_so(fx: Pair, clock: Clock) -> None:
    _, address = _edr(fx)
    clock.advance(int(address.get("tx-auth:expiresIn") or address[TX + "expiresIn"]))
    response = _pull(fx, address["authorization"])
    assert response.status_code == 401 and "expired" in response.json()["reason"], response.text
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_negative_a_participant_without_an_agreement_gets_403_saying_why(fx: Pair) -> None:
    fx.publish()
    # the consumer shows who it is (its DSP token) but has negotiated nothing: known, not entitled
    response = _pull(fx, "Bearer token-of-consumer")
    assert response.status_code == 403, response.text
    assert "no started transfer under an agreement" in response.json()["reason"]
    # an unknown caller stays unauthenticated
    assert _pull(fx, "Bearer someone-else").status_code == 401


def test_negative_a_push_request_against_a_pull_offer_is_refused_naming_the_mismatch(fx: Pair) -> None:
    fx.publish()
    neg, _ = fx.negotiate_edr()
    agreement_id = neg["contractAgreementId"]
    # through the consumer's management API: the transfer ends TERMINATED with the provider's reason
    created = ok(fx.consumer.post("/management/v3/transferprocesses", json={
        "@context": VOCAB, "counterPartyAddress": fx.provider_dsp, "contractId": agreement_id,
        "protocol": "dataspace-protocol-http:2025-1", "transferType": "HttpData-PUSH",
        "dataDestination": {"type": "HttpData", "baseUrl": "http://consumer.test/inbox"}}))
    fx.settle()
    pushed = ok(fx.consumer.get(f"/management/v3/transferprocesses/{created['@id']}"))
    assert pushed["state"] == "TERMINATED", pushed
    assert "does not match the offer" in pushed.get("errorDetail", ""), pushed
    # the DSP answer itself, as the provider gives it to any consumer
    request = {"@context": DSPACE, "@type": "TransferRequestMessage", "consumerPid": "urn:uuid:push-1",
               "agreementId": agreement_id, "format": "HttpData-PUSH", "callbackAddress": fx.consumer_dsp,
               "dataAddress": {"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
                               "endpoint": "http://consumer.test/inbox"}}
    answer = fx.provider.post("/api/dsp/2025-1/transfers/request", json=request,
                              headers={"Authorization": "token-of-consumer"})
    assert answer.status_code == 400 and answer.json()["@type"] == "TransferError", answer.text
    assert "HttpData-PUSH" in str(answer.json()["reason"]) and "HttpData-PULL only" in str(answer.json()["reason"])


def test_negative_a_transfer_start_without_the_authorization_property_fails_with_the_reason(fx: Pair) -> None:
    fx.publish()
    neg, _ = fx.negotiate_edr()
    created = ok(fx.consumer.post("/management/v3/transferprocesses", json={
        "@context": VOCAB, "counterPartyAddress": fx.provider_dsp, "contractId": neg["contractAgreementId"],
        "protocol": "dataspace-protocol-http:2025-1", "transferType": "HttpData-PULL"}))
    settle(fx.consumer_party)  # the provider acknowledged; it has not started the transfer yet
    mine = ok(fx.consumer.get(f"/management/v3/transferprocesses/{created['@id']}"))
    assert mine["state"] == "REQUESTED", mine
    with fx.consumer_services.db.read() as session:
        from connector.store.models import TransferProcess

        row = session.get(TransferProcess, created["@id"])
        assert row is not None
        provider_pid, consumer_pid = row.provider_pid, row.consumer_pid
    # a provider that omits the token: endpoint and the other properties, no authorization
    start = {"@context": DSPACE, "@type": "TransferStartMessage", "providerPid": provider_pid,
             "consumerPid": consumer_pid, "dataAddress": {
                 "@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
                 "endpoint": "http://provider.test/api/public", "endpointProperties": [
                     {"@type": "EndpointProperty", "name": EDC + "authType", "value": "bearer"},
                     {"@type": "EndpointProperty", "name": TX + "expiresIn", "value": "600"}]}}
    answer = fx.consumer.post(f"/api/dsp/2025-1/transfers/{consumer_pid}/start", content=json.dumps(start),
                              headers={"Authorization": "token-of-provider", "Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    reason = str(answer.json()["reason"])
    assert answer.json()["@type"] == "TransferError" and EDC + "authorization" in reason, answer.text
    after = ok(fx.consumer.get(f"/management/v3/transferprocesses/{created['@id']}"))
    assert after["state"] == "REQUESTED"  # nothing unusable was stored
    assert fx.consumer.get(f"{EDRS}/{created['@id']}/dataaddress").status_code in (404, 409)


def _foreign_catalog(request: Request) -> JSONResponse:
    """Another vendor's provider: three datasets, one distributed as HttpData-PULL, one as PUSH and one
    as both PULL and Mqtt-PULL."""
    def dataset(asset: str, *formats: str) -> dict:
        return {"@id": asset, "@type": "Dataset", "hasPolicy": [], "distribution": [
            {"@type": "Distribution", "format": f, "accessService": "urn:svc"} for f in formats]}
    return JSONResponse({"@context": DSPACE, "@id": "urn:catalog", "@type": "Catalog", "participantId":
                         "did:web:nordguss.test", "service": [{"@id": "urn:svc", "@type": "DataService",
                                                              "endpointURL": "http://edc.test/api/dsp"}],
                         "dataset": [dataset("pull-only", "HttpData-PULL"), dataset("push-only", "HttpData-PUSH"),
                                     dataset("pull-and-mqtt", "HttpData-PULL", "Mqtt-PULL")]})


def test_edge_datasets_with_other_formats_keep_them_and_do_not_disturb_a_pull(fx: Pair) -> None:
    fx.router.add("edc.test", Starlette(routes=[Route("/api/dsp/catalog/request", _foreign_catalog,
                                                      methods=["POST"])]))
    assert _formats_by_dataset(fx, "http://edc.test/api/dsp") == {
        "pull-only": ["HttpData-PULL"], "push-only": ["HttpData-PUSH"], "pull-and-mqtt": ["HttpData-PULL", "Mqtt-PULL"]}
    # our own catalog names HttpData-PULL explicitly on each dataset, and the pull goes through
    fx.publish()
    fx.publish("pcf-second", {**PCF, "id": "urn:uuid:second"})
    assert _formats_by_dataset(fx, fx.provider_dsp) == {"pcf-NG-WC-400": ["HttpData-PULL"],
                                                        "pcf-second": ["HttpData-PULL"]}
    _, tp = fx.negotiate_edr()
    address = ok(fx.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))
    assert _pull(fx, address["authorization"]).status_code == 200


SCENARIOS: dict[str, Runner] = {
    "Provider exposes data offer via DSP Catalog": test_smoke_the_catalog_offers_httpdata_pull,
    "Consumer initiates transfer using HttpData-PULL": test_smoke_the_edr_carries_the_five_endpoint_properties_and_pulls,
    "TransferStartMessage contains all required endpointProperties":
        test_smoke_the_transfer_start_message_names_the_properties_by_full_iri,
    "Provider accepts STS-Token as access token": test_smoke_the_access_token_is_accepted_with_the_auth_type_prefix,
    "Access token is at the boundary of its TTL (expiresIn)":
        test_edge_a_token_one_second_before_its_ttl_still_pulls_and_a_refresh_gives_a_new_one,
    # authenticated with the consumer's STS token, between dcp-mode processes; the expired token's refresh
    # (authenticated with the access token itself): test_edge_an_expired_token_is_refreshed_...
    "Token refresh using refreshToken at refreshEndpoint":
        hercules.test_edge_a_refresh_authenticated_by_the_consumers_sts_token_gives_a_token_that_pulls,
    "Catalog contains multiple Data Offers with different formats":
        test_edge_datasets_with_other_formats_keep_them_and_do_not_disturb_a_pull,
    "Consumer sends TransferRequestMessage with wrong format":
        test_negative_a_push_request_against_a_pull_offer_is_refused_naming_the_mismatch,
    "Access attempt with expired token": test_negative_an_expired_token_gets_401_saying_so,
    "TransferStartMessage is missing a required endpointProperty":
        test_negative_a_transfer_start_without_the_authorization_property_fails_with_the_reason,
    "Access attempt without prior contract negotiation": test_negative_a_participant_without_an_agreement_gets_403_saying_why,
}
