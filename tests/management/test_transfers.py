"""``/v3/transferprocesses`` between two in-process connectors (provider serves a stored PCF document).

Start, watch (``GET``, ``/state``, ``/request`` with every agreement-id filter key tractusx-sdk
probes), suspend / resume / complete / terminate, ``/deprovision``, and the refusals, each of
which names the field or the state that made it fail.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from connector.management.transfers import dsp_destination
from connector.store.models import OutgoingMessage
from tests.transfers.conftest import PROVIDER_ID, VOCAB, make_pair, ok

TP = "/management/v3/transferprocesses"


@pytest.fixture
def two(tmp_path):  # type: ignore[no-untyped-def]
    yield from make_pair(tmp_path)


def agreement(two) -> str:  # type: ignore[no-untyped-def]
    two.publish()
    created = ok(two.consumer.post("/management/v3/contractnegotiations", json=two.contract_request()))
    neg = two.wait(two.consumer, f"/management/v3/contractnegotiations/{created['@id']}")
    assert neg["state"] == "FINALIZED", neg
    return neg["contractAgreementId"]


def request(agreement_id: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"@context": VOCAB, "@type": "TransferRequest", "contractId": agreement_id,
            "counterPartyAddress": "http://provider.test/api/dsp/2025-1", "protocol": "dataspace-protocol-http:2025-1",
            "transferType": "HttpData-PULL", "dataDestination": {"type": "HttpProxy"}, **extra}


def started(two, agreement_id: str) -> dict:  # type: ignore[no-untyped-def]
    created = ok(two.consumer.post(TP, json=request(agreement_id, privateProperties={"ticket": "OPS-7"})))
    assert created["@type"] == "IdResponse" and created["createdAt"] > 0
    return two.wait(two.consumer, f"{TP}/{created['@id']}", ("STARTED", "TERMINATED"))


def test_a_pull_transfer_starts_and_shows_edc_fields_on_both_sides(two) -> None:  # type: ignore[no-untyped-def]
    agreement_id = agreement(two)
    tp = started(two, agreement_id)
    assert tp["state"] == "STARTED" and tp["type"] == "CONSUMER" and tp["contractId"] == agreement_id
    assert tp["assetId"] == "pcf-NG-WC-400" and tp["transferType"] == "HttpData-PULL"
    assert tp["dataDestination"] == {"@type": "DataAddress", "type": "HttpProxy"}
    assert tp["privateProperties"] == {"ticket": "OPS-7"} and tp["counterPartyId"] == PROVIDER_ID
    assert ok(two.consumer.get(f"{TP}/{tp['@id']}/state"))["state"] == "STARTED"
    assert ok(two.consumer.get(f"{TP}/{tp['@id']}/state"))["@type"] == "TransferState"
    # the provider's process is the same transfer, seen from the other side
    [mine] = ok(two.provider.post(f"{TP}/request", json={"@context": VOCAB}))
    assert mine["type"] == "PROVIDER" and mine["correlationId"] == tp["@id"] and tp["correlationId"] == mine["@id"]
    assert mine["state"] == "STARTED" and "consumerClaims" not in mine["privateProperties"]


@pytest.mark.parametrize("key", ["contractAgreementId", "contractId", "agreementId"])
def test_every_agreement_key_tractusx_sdk_probes_filters(two, key) -> None:  # type: ignore[no-untyped-def]
    agreement_id = agreement(two)
    tp = started(two, agreement_id)
    query = {"@context": VOCAB, "@type": "QuerySpec",
             "filterExpression": [{"operandLeft": key, "operator": "=", "operandRight": agreement_id}]}
    assert [t["@id"] for t in ok(two.consumer.post(f"{TP}/request", json=query))] == [tp["@id"]]
    query["filterExpression"][0]["operandRight"] = "urn:uuid:another-agreement"
    assert ok(two.consumer.post(f"{TP}/request", json=query)) == []


def test_query_refuses_an_unknown_field_naming_the_known_ones(two) -> None:  # type: ignore[no-untyped-def]
    r = two.consumer.post(f"{TP}/request", json={"@context": VOCAB, "filterExpression": [
        {"operandLeft": "colour", "operator": "=", "operandRight": "red"}]})
    assert r.status_code == 400 and "colour" in r.json()[0]["message"] and "contractId" in r.json()[0]["message"]


def test_suspend_resume_complete(two) -> None:  # type: ignore[no-untyped-def]
    tp = started(two, agreement(two))
    path = f"{TP}/{tp['@id']}"
    ok(two.consumer.post(f"{path}/suspend", json={"@context": VOCAB, "@type": "SuspendTransfer", "reason": "audit"}),
       204)
    two.wait(two.consumer, path, ("SUSPENDED",))
    [provider_side] = ok(two.provider.post(f"{TP}/request", json={"@context": VOCAB}))
    assert two.wait(two.provider, f"{TP}/{provider_side['@id']}", ("SUSPENDED",))["errorDetail"].endswith("audit")
    # a suspended transfer cannot complete (DSP); it resumes first
    r = two.consumer.post(f"{path}/complete")
    assert r.status_code == 409 and "SUSPENDED" in r.json()[0]["message"], r.text
    ok(two.consumer.post(f"{path}/resume"), 204)
    two.wait(two.consumer, path, ("STARTED",))
    ok(two.consumer.post(f"{path}/complete"), 204)
    assert two.wait(two.consumer, path, ("COMPLETED",))["state"] == "COMPLETED"
    assert two.wait(two.provider, f"{TP}/{provider_side['@id']}", ("COMPLETED",))["state"] == "COMPLETED"


def test_terminate_says_why_and_is_final(two) -> None:  # type: ignore[no-untyped-def]
    tp = started(two, agreement(two))
    path = f"{TP}/{tp['@id']}"
    ok(two.consumer.post(f"{path}/terminate", json={"@context": VOCAB, "@type": "TerminateTransfer",
                                                    "reason": "wrong part number"}), 204)
    ended = two.wait(two.consumer, path, ("TERMINATED",))
    assert ended["error"] == {"by": "local", "code": "terminated-by-user", "reasons": ["wrong part number"]}
    assert ended["errorDetail"] == "wrong part number"
    r = two.consumer.post(f"{path}/terminate", json={"@context": VOCAB, "reason": "again"})
    assert r.status_code == 409 and "TERMINATED" in r.json()[0]["message"], r.text
    ok(two.consumer.post(f"{path}/deprovision"), 204)  # accepted, and nothing to undo


@pytest.mark.parametrize("change, field", [
    ({"contractId": None}, "contractId"),
    ({"counterPartyAddress": "not a url"}, "counterPartyAddress"),
    ({"protocol": "dataspace-protocol-http:2019"}, "protocol"),
    ({"transferType": "HttpData-STREAM"}, "transferType"),
    ({"transferType": "HttpData-PUSH", "dataDestination": {"type": "HttpProxy"}}, "dataDestination"),
    ({"transferType": "HttpData-PUSH", "dataDestination": {"type": "HttpData", "baseUrl": "ftp://x"}},
     "dataDestination.baseUrl"),
])
def test_bad_requests_name_their_field(two, change, field) -> None:  # type: ignore[no-untyped-def]
    body = {k: v for k, v in {**request("agr-1"), **change}.items() if v is not None}
    r = two.consumer.post(TP, json=body)
    assert r.status_code == 400, r.text
    assert r.json()[0]["path"] == field and field in r.json()[0]["message"], r.json()


def test_unknown_agreements_and_transfers_are_404(two) -> None:  # type: ignore[no-untyped-def]
    r = two.consumer.post(TP, json=request("urn:uuid:no-such-agreement"))
    assert r.status_code == 404 and "no-such-agreement" in r.json()[0]["message"]
    for method, path in (("GET", "/urn:uuid:x"), ("GET", "/urn:uuid:x/state"), ("POST", "/urn:uuid:x/terminate"),
                         ("POST", "/urn:uuid:x/deprovision"), ("POST", "/urn:uuid:x/resume")):
        r = two.consumer.request(method, TP + path)
        assert r.status_code == 404 and r.json()[0]["type"] == "ObjectNotFound", (method, path, r.text)


def test_a_push_destination_reaches_the_provider_as_a_dsp_data_address(two) -> None:  # type: ignore[no-untyped-def]
    agreement_id = agreement(two)
    destination = {"type": "HttpData", "baseUrl": "https://sink.achsen.example/pcf", "authKey": "X-Key",
                   "authCode": "secret"}
    created = ok(two.consumer.post(TP, json=request(agreement_id, transferType="HttpData-PUSH",
                                                    dataDestination=destination)))
    tp = ok(two.consumer.get(f"{TP}/{created['@id']}"))
    assert tp["dataDestination"] == {"@type": "DataAddress", "type": "HttpData",
                                     "baseUrl": "https://sink.achsen.example/pcf", "authKey": "X-Key",
                                     "authCode": "****"}
    with two.consumer_services.db.read() as session:
        sent = session.exec(select(OutgoingMessage).where(OutgoingMessage.process_id == created["@id"])).first()
    assert sent.body["format"] == "HttpData-PUSH"
    address = sent.body["dataAddress"]
    assert (address["@type"], address["endpointType"], address["endpoint"]) == (
        "DataAddress", "https://w3id.org/idsa/v4.1/HTTP", "https://sink.achsen.example/pcf")
    assert sorted((p["name"], p["value"]) for p in address["endpointProperties"]) == [
        ("authCode", "secret"), ("authKey", "X-Key")]


def test_a_dsp_shaped_destination_is_taken_as_it_is() -> None:
    dsp = {"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP", "endpoint": "https://x.example",
           "endpointProperties": [{"@type": "EndpointProperty", "name": "authorization", "value": "t"}]}
    assert dsp_destination(dsp) == dsp
    assert dsp_destination({"type": "HttpProxy"}) is None and dsp_destination(None) is None
