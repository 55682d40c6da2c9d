"""Factory-X ADR 012 (MQTT over DSP) TEST.mdx scenarios, between two in-process connectors
(tests/transfers/conftest.py) and the provider's own MQTT broker on 127.0.0.1 (connector.mqtt),
which a paho-mqtt client reaches over TLS, WebSocket-over-TLS or plain TCP.

An MQTT stream is an asset whose data address is ``Mqtt``; the catalog offers it as ``Mqtt-PULL``;
the consumer's ``POST /v3/edrs`` with ``transferType: Mqtt-PULL`` negotiates and starts the transfer,
and ``GET /v3/edrs/{id}/dataaddress`` gives the EDR: the broker URL, a JWT for the broker (or a
user and password), its refresh token and endpoint, and the topic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.transfers.conftest import VOCAB, Pair, make_pair, ok

EDRS = "/management/v3/edrs"
DSP_MQTT = "https://w3id.org/dspace/2025/1/mqtt-pull/"
EDC = "https://w3id.org/edc/v0.0.1/ns/"
STREAM = "stream-press-7"


@pytest.fixture
def two(tmp_path: Path) -> Iterator[Pair]:
    yield from make_pair(tmp_path)


def offer_stream(two: Pair, address: dict, asset_id: str = STREAM, properties: dict | None = None) -> None:
    """An MQTT stream under the same usage policy as the PCF assets (published, then re-addressed)."""
    two.publish(asset_id)
    ok(two.provider.put("/management/v3/assets", json={
        "@context": VOCAB, "@id": asset_id, "properties": properties or {"name": f"stream {asset_id}"},
        "dataAddress": {"@type": "DataAddress", "type": "Mqtt", **address}}), 204)


def distributions(two: Pair) -> dict[str, list[dict]]:
    catalog = ok(two.consumer.post("/management/v3/catalog/request", json={
        "@context": VOCAB, "counterPartyAddress": two.provider_dsp, "protocol": "dataspace-protocol-http:2025-1"}))
    datasets = catalog.get("dcat:dataset") or catalog.get("dataset") or []
    out = {}
    for dataset in datasets if isinstance(datasets, list) else [datasets]:
        dists = dataset.get("dcat:distribution") or dataset.get("distribution") or []
        out[dataset["@id"]] = dists if isinstance(dists, list) else [dists]
    return out


def fmt(distribution: dict) -> str:
    value = distribution.get("dct:format") or distribution.get("format")
    return value.get("@id") if isinstance(value, dict) else value


def negotiate_stream(two: Pair, asset_id: str = STREAM, transfer_type: str = "Mqtt-PULL") -> dict:
    """``POST /v3/edrs`` for ``asset_id`` with ``transfer_type``; the consumer's transfer once settled."""
    created = ok(two.consumer.post(EDRS, json=two.contract_request(asset_id, transferType=transfer_type)))
    neg = two.wait(two.consumer, f"/management/v3/contractnegotiations/{created['@id']}")
    assert neg["state"] == "FINALIZED", neg
    return two.transfer_of(neg["contractAgreementId"])


WSS = {"mqttEndpointType": "mqtt-wss", "baseUrl": "wss://broker.nordguss.example/mqtt"}


# --- offering and discovery ----------------------------------------------------------------------


def test_smoke_the_catalog_offers_an_mqtt_stream_as_mqtt_pull(two: Pair) -> None:
    offer_stream(two, WSS)
    two.publish("pcf-NG-WC-400")
    found = distributions(two)
    assert [fmt(d) for d in found[STREAM]] == ["Mqtt-PULL"]
    assert [fmt(d) for d in found["pcf-NG-WC-400"]] == ["HttpData-PULL"]


def test_smoke_the_edr_names_type_endpoint_type_and_broker(two: Pair) -> None:
    offer_stream(two, {**WSS, "dsp-mqtt:topic": "press7/temperature"})
    tp = negotiate_stream(two)
    assert tp["state"] == "STARTED" and tp["transferType"] == "Mqtt-PULL"
    address = ok(two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))
    assert address["type"] == "Mqtt" and address["mqttEndpointType"] == "mqtt-wss"
    assert address["dsp-mqtt:baseUrl"] == WSS["baseUrl"] == address["endpoint"]
    assert address["flowType"] == "PULL" and address["dsp-mqtt:topic"] == "press7/temperature"
    assert address["@context"]["dsp-mqtt"] == DSP_MQTT
    for key in ("authorization", "refreshToken", "refreshEndpoint", "expiresIn", "refreshAudience"):
        assert address[f"dsp-mqtt:{key}"], key
    assert address["dsp-mqtt:refreshEndpoint"] == "http://provider.test/api/public/token"


def test_smoke_the_start_message_names_the_properties_by_full_iri(two: Pair) -> None:
    from sqlmodel import select

    from connector.store.models import TransferProcess

    offer_stream(two, WSS)
    tp = negotiate_stream(two)
    with two.consumer_services.db.read() as session:
        row = session.exec(select(TransferProcess).where(TransferProcess.id == tp["@id"])).one()
    address = row.data_address or {}
    assert address["endpointType"] == "Mqtt" and address["endpoint"] == WSS["baseUrl"]
    names = {p["name"]: p["value"] for p in address["endpointProperties"]}
    assert names[EDC + "flowType"] == "PULL" and names[EDC + "mqttEndpointType"] == "mqtt-wss"
    for term in ("baseUrl", "authorization", "refreshToken", "refreshEndpoint", "expiresIn", "refreshAudience"):
        assert DSP_MQTT + term in names, (term, sorted(names))
    assert DSP_MQTT + "topic" not in names  # the asset names none: the broker decides


# --- the asset is checked when it is created --------------------------------------------------


@pytest.mark.parametrize(("address", "field", "words"), [
    ({"mqttEndpointType": "mqtt-wsss", "baseUrl": "wss://b.example/mqtt"}, "mqttEndpointType", "did you mean 'mqtt-wss'"),
    ({"mqttEndpointType": "mqtt-tls"}, "baseUrl", "is required"),
    ({"mqttEndpointType": "mqtt-wss", "baseUrl": "mqtt://b.example:1883"}, "baseUrl", "unencrypted"),
    ({"mqttEndpointType": "mqtt-tcp-basic", "baseUrl": "mqtt://b.example:1883"}, "baseUrl", "allows plain TCP"),
    ({"mqttEndpointType": "mqtt-tls", "baseUrl": "wss://b.example/mqtt"}, "baseUrl", "mqtts://"),
    ({**WSS, "oauth2:tokenUrl": "https://idp.example/token"}, "oauth2:clientId", "is required"),
    ({**WSS, "mqttAuthType": "basic"}, "mqttAuthType", "mqtt-usrpw"),
])
def test_negative_a_bad_mqtt_address_is_refused_naming_the_field(two: Pair, address: dict, field: str,
                                                                 words: str) -> None:
    answer = two.provider.post("/management/v3/assets", json={
        "@context": VOCAB, "@id": "bad-stream", "properties": {},
        "dataAddress": {"@type": "DataAddress", "type": "Mqtt", **address}})
    assert answer.status_code == 400, answer.text
    assert f"dataAddress.{field}" in answer.text and words in answer.text, answer.text
    assert two.provider.get("/management/v3/assets/bad-stream").status_code == 404


def test_negative_a_format_the_asset_is_not_offered_in_is_refused_with_the_reason(two: Pair) -> None:
    offer_stream(two, WSS)
    two.publish("pcf-NG-WC-400")
    for asset_id, wrong in ((STREAM, "HttpData-PULL"), ("pcf-NG-WC-400", "Mqtt-PULL")):
        created = ok(two.consumer.post(EDRS, json=two.contract_request(asset_id, transferType=wrong)))
        neg = two.wait(two.consumer, f"/management/v3/contractnegotiations/{created['@id']}")
        two.settle()
        found = ok(two.consumer.post("/management/v3/transferprocesses/request", json={
            "@context": VOCAB, "filterExpression": [
                {"operandLeft": "contractAgreementId", "operator": "=", "operandRight": neg["contractAgreementId"]}]}))
        assert found and found[-1]["state"] == "TERMINATED", found
        detail = str(found[-1])
        assert f"{wrong} is not offered for it" in detail, detail
