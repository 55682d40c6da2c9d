"""Factory-X ADR 012 (MQTT over DSP) TEST.mdx scenarios, between two in-process connectors
(tests/transfers/conftest.py) and the provider's own MQTT broker on 127.0.0.1 (connector.mqtt),
which a paho-mqtt client reaches over TLS, WebSocket-over-TLS or plain TCP (``mqtt_streams``).
The checks around them (bad assets, wrong formats, names, engines) are in ``test_adr012_checks``.

An MQTT stream is an asset whose data address is ``Mqtt``; the catalog offers it as ``Mqtt-PULL``;
the consumer's ``POST /v3/edrs`` with ``transferType: Mqtt-PULL`` negotiates and starts the transfer,
and ``GET /v3/edrs/{id}/dataaddress`` gives the EDR: the broker URL, a JWT for the broker (or a
user and password), its refresh token and endpoint, and the topic."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pytest_httpx import HTTPXMock
from sqlmodel import select

from tests.factoryx.mqtt_streams import (
    CONNACK_ACCEPTED,
    CONNACK_NOT_AUTHORIZED,
    DSP_MQTT,
    EDRS,
    EXTERNAL,
    IDP,
    MQTT_AAS,
    STREAM,
    WSS,
    Streams,
    connected,
    distributions,
    fmt,
    negotiate_stream,
    offer_stream,
    start_streams,
)
from tests.factoryx.scenario_map import Runner
from tests.transfers.conftest import VOCAB, Pair, make_pair, ok


@pytest.fixture
def two(tmp_path: Path) -> Iterator[Pair]:
    yield from make_pair(tmp_path)


@pytest.fixture
def streams(tmp_path: Path) -> Iterator[Streams]:
    yield from start_streams(tmp_path)


# --- offering and discovery ----------------------------------------------------------------------


def test_smoke_the_catalog_offers_an_mqtt_stream_as_mqtt_pull(two: Pair) -> None:
    offer_stream(two, WSS)
    offer_stream(two, WSS, "aas-events", {"http://purl.org/dc/terms/type": {"@id": MQTT_AAS}})
    two.publish("pcf-NG-WC-400")
    found = distributions(two)
    assert [fmt(d) for d in found[STREAM]] == ["Mqtt-PULL"]
    assert [fmt(d) for d in found["pcf-NG-WC-400"]] == ["HttpData-PULL"]
    # ADR 011 events on the stream: the distribution says so too
    (events,) = found["aas-events"]
    assert fmt(events) == "Mqtt-PULL"
    kind = events.get("dct:type") or events.get("http://purl.org/dc/terms/type")
    assert (kind.get("@id") if isinstance(kind, dict) else kind) == MQTT_AAS, events
    assert not any("dct:type" in d or "http://purl.org/dc/terms/type" in d for d in found[STREAM])


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


# --- the asset is checked when it is created --------------------------------------------------


# --- with the provider's own broker --------------------------------------------------------------


def test_smoke_the_consumer_connects_over_wss_with_the_jwt_and_subscribes(streams: Streams) -> None:
    _, edr = streams.edr({"mqttEndpointType": "mqtt-wss"})  # our own broker's URL
    assert edr["dsp-mqtt:baseUrl"].startswith("wss://127.0.0.1:") and edr["dsp-mqtt:refreshToken"]
    client = streams.client(edr)
    try:
        assert client.connect() == CONNACK_ACCEPTED
        assert client.subscribe("press7/#") == [1]
        assert streams.publish("press7/temperature", b"71.5") == 1
        message = client.next_message()
        assert (message.topic, message.payload) == ("press7/temperature", b"71.5")
    finally:
        client.close()


def test_smoke_the_consumer_connects_with_the_transfers_user_and_password(streams: Streams) -> None:
    tp, edr = streams.edr({"mqttEndpointType": "mqtt-tls", "mqttAuthType": "mqtt-usrpw"})
    assert "dsp-mqtt:authorization" not in edr
    from connector.store.models import EdrGrant

    with streams.two.provider_party.services.db.read() as session:  # only the password's hash is kept
        stored = [g.refresh_hash for g in session.exec(select(EdrGrant))]
    assert edr["dsp-mqtt:password"] not in stored and len(stored) == 1
    assert connected(streams.client(edr, username=edr["dsp-mqtt:user"], password=edr["dsp-mqtt:password"])) \
        == CONNACK_ACCEPTED
    # the grant lasts one EDR lifetime: the client connects again, and is checked again
    from connector.mqtt.tokens import transfer_access

    now = int(time.time())
    grant = transfer_access(streams.two.provider_party.services).authenticate(
        "c1", edr["dsp-mqtt:user"], edr["dsp-mqtt:password"].encode(), now)
    assert (grant.subject, grant.topics, grant.expires_at) == ("did:web:achsen.test", None, now + 300)
    # the transfer ends: its user is revoked with it
    assert streams.two.consumer.delete(f"{EDRS}/{tp['@id']}").status_code == 204
    streams.two.settle()
    assert connected(streams.client(edr, username=edr["dsp-mqtt:user"], password=edr["dsp-mqtt:password"])) \
        == CONNACK_NOT_AUTHORIZED


def test_negative_wrong_user_or_password_gets_connack_5(streams: Streams) -> None:
    _, edr = streams.edr({"mqttEndpointType": "mqtt-tls", "mqttAuthType": "mqtt-usrpw"})
    for user, password in ((edr["dsp-mqtt:user"], "not-the-password"), ("dsp-nobody", edr["dsp-mqtt:password"])):
        assert connected(streams.client(edr, username=user, password=password)) == CONNACK_NOT_AUTHORIZED


def test_smoke_a_refresh_gives_a_new_jwt_for_the_next_connect(streams: Streams) -> None:
    tp, before = streams.edr({"mqttEndpointType": "mqtt-wss"})
    session = streams.client(before)  # connected with the first JWT, before it expires
    try:
        assert session.connect() == CONNACK_ACCEPTED
        after = ok(streams.two.consumer.post(f"{EDRS}/{tp['@id']}/refresh"))
    finally:
        session.close()
    assert after["dsp-mqtt:authorization"] != before["dsp-mqtt:authorization"]
    assert after["dsp-mqtt:refreshToken"] != before["dsp-mqtt:refreshToken"]
    assert ok(streams.two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress")) == after  # the EDR cache keeps it
    assert connected(streams.client(after)) == CONNACK_ACCEPTED  # the reconnect, with the new JWT
    assert connected(streams.client(before)) == CONNACK_NOT_AUTHORIZED  # replaced by the refresh
    # the broker's token does not open the data plane, nor a data-plane token the broker
    assert streams.two.provider.get("/api/public", headers={"Authorization": after["dsp-mqtt:authorization"]}) \
        .status_code == 401


@pytest.mark.parametrize("endpoint_type", ["mqtt-wss", "mqtt-tls", "mqtt-tcp-basic"])
def test_edge_each_transport_binding_the_broker_runs(streams: Streams, endpoint_type: str) -> None:
    # mqtt-tcp-basic runs here because this provider's [mqtt] opens a plain TCP listener (tcp_port)
    _, edr = streams.edr({"mqttEndpointType": endpoint_type})
    assert edr["mqttEndpointType"] == endpoint_type
    scheme = {"mqtt-wss": "wss", "mqtt-tls": "mqtts", "mqtt-tcp-basic": "mqtt"}[endpoint_type]
    assert urlsplit(edr["dsp-mqtt:baseUrl"]).scheme == scheme
    assert connected(streams.client(edr)) == CONNACK_ACCEPTED


def test_edge_a_topic_in_the_edr_limits_the_subscription_to_it(streams: Streams) -> None:
    _, edr = streams.edr({"mqttEndpointType": "mqtt-tls", "dsp-mqtt:topic": "sensor/temperature"})
    assert edr["dsp-mqtt:topic"] == "sensor/temperature"
    client = streams.client(edr)
    try:
        assert client.connect() == CONNACK_ACCEPTED
        assert client.subscribe("sensor/temperature") == [1]
        assert client.subscribe("sensor/pressure") == [128]
        assert client.subscribe("#") == [128]
    finally:
        client.close()


def test_edge_without_a_topic_the_broker_decides(streams: Streams) -> None:
    _, edr = streams.edr({"mqttEndpointType": "mqtt-tls"})
    assert "dsp-mqtt:topic" not in edr
    client = streams.client(edr)
    try:
        assert client.connect() == CONNACK_ACCEPTED
        assert client.subscribe("#") == [1]  # our broker permits every topic to a transfer's token
        streams.publish("line2/press7/pressure", b"3.2")
        assert client.next_message().topic == "line2/press7/pressure"
    finally:
        client.close()


def test_edge_a_jwt_expiring_now_is_refused_and_a_refreshed_one_accepted(streams: Streams) -> None:
    tp, edr = streams.edr({"mqttEndpointType": "mqtt-tls"})
    ttl = int(edr["dsp-mqtt:expiresIn"])
    pair = streams.token_issued_at(tp, int(time.time()) * 1000 - ttl * 1000)  # expiresIn: 0 seconds left
    assert connected(streams.client(edr, password=pair.access_token)) == CONNACK_NOT_AUTHORIZED
    # RFC 6749 §6 at the EDR's refresh endpoint, with the expired token as the client's authentication
    answer = ok(streams.two.provider.post(
        "/api/public/token", data={"grant_type": "refresh_token", "refresh_token": pair.refresh_token},
        headers={"Authorization": pair.access_token}))
    assert edr["dsp-mqtt:refreshEndpoint"].endswith("/api/public/token") and answer["expires_in"] == ttl
    assert connected(streams.client(edr, password=answer["access_token"])) == CONNACK_ACCEPTED


def test_negative_an_expired_jwt_gets_connack_5_saying_when_it_expired(streams: Streams,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    tp, edr = streams.edr({"mqttEndpointType": "mqtt-wss"})
    pair = streams.token_issued_at(tp, int(time.time()) * 1000 - 3_600_000)
    with caplog.at_level(logging.WARNING, logger="pontis.mqtt"):
        assert connected(streams.client(edr, password=pair.access_token)) == CONNACK_NOT_AUTHORIZED
    assert "token expired at " in caplog.text, caplog.text


def test_negative_a_distribution_without_mqtt_pull_is_no_mqtt_stream(streams: Streams) -> None:
    streams.two.publish("pcf-NG-WC-400")
    found = distributions(streams.two)
    assert found and not [asset for asset, dists in found.items() if any(fmt(d) == "Mqtt-PULL" for d in dists)]
    tp = negotiate_stream(streams.two, "pcf-NG-WC-400")
    assert tp["state"] == "TERMINATED" and "Mqtt-PULL is not offered for it" in str(tp)


def test_negative_unencrypted_mqtt_is_refused_where_tls_is_required(streams: Streams) -> None:
    # the asset cannot offer mqtt:// for a TLS endpoint type, and a plain CONNECT to the TLS and
    # WSS listeners never gets a CONNACK (the TLS handshake fails first)
    answer = streams.two.provider.post("/management/v3/assets", json={
        "@context": VOCAB, "@id": "plain", "properties": {},
        "dataAddress": {"@type": "DataAddress", "type": "Mqtt", "mqttEndpointType": "mqtt-tls",
                        "baseUrl": "mqtt://127.0.0.1:1883"}})
    assert answer.status_code == 400 and "unencrypted" in answer.text
    ports = streams.two.provider_party.app.state.mqtt.server.ports
    connect = bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 30, 0, 0])  # CONNECT, clean, no id
    for port in (ports["mqtts"], ports["wss"]):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
            plain.sendall(connect)
            reply = b""
            with contextlib.suppress(OSError):
                reply = plain.recv(16)
        assert not reply.startswith(b"\x20"), (port, reply)  # 0x20: a CONNACK


def test_edge_oauth2_fields_make_the_provider_fetch_the_brokers_token_first(
        two: Pair, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PONTIS_SECRET_OAUTH2_CLIENT_SECRET", "s3cret")  # the alias's secret, never stored
    for token in ("idp-token-1", "idp-token-2"):
        httpx_mock.add_response(url=IDP, method="POST", json={"access_token": token, "expires_in": 120,
                                                              "token_type": "Bearer"})
    offer_stream(two, EXTERNAL)
    stored = ok(two.provider.get(f"/management/v3/assets/{STREAM}"))["dataAddress"]
    assert stored["dsp-mqtt:topic"] == "topic-name" and "s3cret" not in str(stored)
    tp = negotiate_stream(two)
    edr = ok(two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))
    assert edr["dsp-mqtt:authorization"] == "idp-token-1" and edr["dsp-mqtt:expiresIn"] == "120"
    assert edr["dsp-mqtt:baseUrl"] == EXTERNAL["baseUrl"] and edr["dsp-mqtt:topic"] == "topic-name"
    form = parse_qs(httpx_mock.get_requests()[0].content.decode())
    assert form == {"grant_type": ["client_credentials"], "client_id": ["dataspace-user"], "client_secret": ["s3cret"]}
    # a refresh at our endpoint asks the IdP again
    after = ok(two.consumer.post(f"{EDRS}/{tp['@id']}/refresh"))
    assert after["dsp-mqtt:authorization"] == "idp-token-2"
    assert after["dsp-mqtt:refreshToken"] != edr["dsp-mqtt:refreshToken"]


SCENARIOS: dict[str, Runner] = {
    'Provider\'s DSP Catalog Distribution has format "Mqtt-PULL"': test_smoke_the_catalog_offers_an_mqtt_stream_as_mqtt_pull,
    "Provider Asset dataAddress contains required MQTT connection fields":
        test_smoke_the_edr_names_type_endpoint_type_and_broker,
    "Consumer connects to MQTT broker via WSS using JWT authentication (mqtt-jwt-oauth2)":
        test_smoke_the_consumer_connects_over_wss_with_the_jwt_and_subscribes,
    "Consumer connects to MQTT broker using username/password authentication (mqtt-usrpw)":
        test_smoke_the_consumer_connects_with_the_transfers_user_and_password,
    "Consumer refreshes JWT before expiry using refreshEndpoint": test_smoke_a_refresh_gives_a_new_jwt_for_the_next_connect,
    "Provider supports multiple MQTT transport bindings": test_edge_each_transport_binding_the_broker_runs,
    "DataAddress includes optional dsp-mqtt:topic for fine-grained topic access":
        test_edge_a_topic_in_the_edr_limits_the_subscription_to_it,
    "DataAddress omits dsp-mqtt:topic (broker-level access control)": test_edge_without_a_topic_the_broker_decides,
    "OAuth2 authentication is auto-enabled when required fields are present":
        test_edge_oauth2_fields_make_the_provider_fetch_the_brokers_token_first,
    "JWT expires exactly at connection time (boundary on expiresIn)":
        test_edge_a_jwt_expiring_now_is_refused_and_a_refreshed_one_accepted,
    "Consumer presents an expired JWT to the MQTT broker": test_negative_an_expired_jwt_gets_connack_5_saying_when_it_expired,
    "Distribution missing Mqtt-PULL format in Catalog": test_negative_a_distribution_without_mqtt_pull_is_no_mqtt_stream,
    "Consumer uses mqtt:// (unencrypted TCP) transport": test_negative_unencrypted_mqtt_is_refused_where_tls_is_required,
    "username/password authentication with wrong credentials": test_negative_wrong_user_or_password_gets_connack_5,
}
