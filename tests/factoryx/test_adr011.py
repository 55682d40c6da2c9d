"""Factory-X ADR 011 (eventing with AAS payloads) TEST.mdx scenarios, against a real ``connector serve``
process whose ``[mqtt]`` broker listens over TLS and WebSocket-over-TLS with a certificate from a test
CA, and paho-mqtt (an independent MQTT 3.1.1 client) as the consumer. Exact CONNACK bytes are read from
raw TLS sockets with hand-written CONNECT packets (not our own encoder)."""

from __future__ import annotations

import copy
import json
import logging
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import pytest

from connector.mqtt.access import OpenAccess, StaticCredentials
from connector.mqtt.events import SUBMODEL, AasEventPublisher, NonCompliantEvent, check_event
from connector.parts.changes import Change
from connector.parts.registry import b64url
from tests.harness import Node, write_seed
from tests.mqtt.support import CaFiles, Client, free_port, make_ca, serve_broker

from .aas_openapi import AVAILABLE, component, errors
from .scenario_map import Runner

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "supply-chain" / "parts" / "achsen.json"
MQTT_AAS = "https://w3id.org/factoryx/types/mqtt-aas"
USER, PASSWORD = "fx-consumer", "consumer-secret-7"
# MQTT 3.1.1 CONNECT, written out by hand: "MQTT", level 4, clean session, keep-alive 60, client id "raw"
CONNECT_ANONYMOUS = b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03raw"
CONNECT_WITH_PASSWORD = (b"\x10\x2f\x00\x04MQTT\x04\xc2\x00\x3c\x00\x03raw\x00\x0bfx-consumer"
                         b"\x00\x11consumer-secret-7")
CONNECT_MQTT_31 = b"\x10\x11\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x03raw"  # MQTT 3.1 (level 3)
CONNECT_MQTT_5 = b"\x10\x10\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x03raw"  # level 5, empty properties


class Provider:
    """The data provider: one connector process with its broker, and the test CA its certificate is from."""

    def __init__(self, node: Node, ca: CaFiles, ports: dict[str, int]) -> None:
        self.node, self.ca, self.ports = node, ca, ports

    def client(self, transport: str = "mqtts", **kwargs: object) -> Client:
        credentials: dict[str, object] = {"username": USER, "password": PASSWORD}
        return Client(self.ca, self.ports[transport], transport, **{**credentials, **kwargs})  # type: ignore[arg-type]

    def raw(self, data: bytes, port: int | None = None) -> bytes:
        """What the broker answers to ``data`` over TLS (at most one CONNACK's 4 bytes)."""
        context = ssl.create_default_context(cafile=str(self.ca.ca_file))
        with socket.create_connection(("127.0.0.1", port or self.ports["mqtts"]), timeout=5) as sock, \
                context.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(data)
            return _read(tls, 4)


def _read(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    workdir = tmp_path_factory.mktemp("adr011")
    ca = make_ca(workdir / "certs")
    ports = {"mqtts": free_port(), "wss": free_port()}
    consumer = Node("consumer", workdir)  # not started: its token is what a peer presents at our DSP endpoint
    node = Node("provider", workdir)
    seed = workdir / "seed.json"
    write_seed(seed, "mqtt-aas-events")
    offer = json.loads(seed.read_text())
    offer["policies"][0]["policy"] = {"permission": [{"action": "use"}]}
    offer["assets"][0] = {"@id": "mqtt-aas-events", "properties": {
        "http://purl.org/dc/terms/type": [{"@id": MQTT_AAS}], "http://purl.org/dc/terms/title": "AAS events"},
        "dataAddress": {"type": "Mqtt", "mqttEndpointType": "mqtt-wss", "dsp-mqtt:topic": "aas/#"}}
    seed.write_text(json.dumps(offer))
    node.write_config([consumer], extra=f"""
seed_file = "{seed}"

[mqtt]
enabled = true
tls_port = {ports["mqtts"]}
wss_port = {ports["wss"]}
cert_file = "{ca.cert_file}"
key_file = "{ca.key_file}"
auth = "password"
username = "{USER}"
password = "{PASSWORD}"
event_data = "element"
""")
    node.start()
    try:
        yield Provider(node, ca, ports)
    finally:
        node.stop()
        tail = (workdir / "provider.log").read_text(errors="replace")[-3000:]
        logging.getLogger(__name__).info("provider log tail:\n%s", tail)


def _import(provider: Provider, items: list[dict]) -> dict:
    response = provider.node.management("POST", "/v3/parts/import", items)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return response.json()


def _serial_part() -> dict:
    return copy.deepcopy(json.loads(EXAMPLES.read_text())[0])


def _events(client: Client, topic_part: str, count: int = 1) -> list[dict]:
    """The next ``count`` events on topics containing ``topic_part`` (others skipped)."""
    out: list[dict] = []
    while len(out) < count:
        message = client.next_message()
        if topic_part in message.topic:
            out.append(check_event(message.payload, message.topic))
    return out


# --- smoke ---------------------------------------------------------------------------------------

def _connack(provider: Provider, transport: str) -> int:
    """The CONNACK code paho-mqtt (MQTT 3.1.1) gets over ``transport``."""
    client = provider.client(transport)
    try:
        return client.connect()
    finally:
        client.close()


def test_smoke_mqtt_over_wss_is_accepted_with_connack_0(provider: Provider) -> None:
    assert _connack(provider, "wss") == 0


def test_smoke_mqtt_over_tls_is_accepted_with_connack_0(provider: Provider) -> None:
    assert _connack(provider, "mqtts") == 0
    assert provider.raw(CONNECT_WITH_PASSWORD) == b"\x20\x02\x00\x00"  # CONNACK, accepted


def test_smoke_a_submodel_change_arrives_as_an_aas_async_api_update(provider: Provider) -> None:
    client = provider.client("wss")
    try:
        assert client.connect() == 0
        assert client.subscribe("aas/submodels/+") == [1]
        item = _serial_part()
        _import(provider, [item])
        [created] = _events(client, "/submodels/")
        assert created["type"] == "io.admin-shell.events.v1.created"
        item["payload"]["partTypeInformation"]["nameAtManufacturer"] = "Rear-axle module RM-7b"
        _import(provider, [item])
        [updated] = _events(client, "/submodels/")
    finally:
        client.close()
    assert updated["type"] == "io.admin-shell.events.v1.updated" and updated["specversion"] == "1.0"
    assert updated["subject"] == created["subject"] and updated["dataschema"] == SUBMODEL
    submodel = updated["data"]
    assert submodel["modelType"] == "Submodel" and submodel["id"] == updated["subject"]
    names = json.dumps(submodel)
    assert "Rear-axle module RM-7b" in names and "Rear-axle module RM-7\"" not in names
    assert updated["source"].startswith(provider.node.base + "/api/public/parts/")
    if AVAILABLE:  # the official IDTA-01001 3.0.3 Submodel schema (../shared/reference/aas)
        assert errors(submodel, component("Submodel")) == []


def test_smoke_the_broker_speaks_mqtt_311_and_refuses_other_levels_with_connack_1(provider: Provider) -> None:
    assert _connack(provider, "mqtts") == 0  # paho, protocol MQTTv311
    assert provider.raw(CONNECT_WITH_PASSWORD) == b"\x20\x02\x00\x00"
    assert provider.raw(CONNECT_MQTT_31) == b"\x20\x02\x00\x01"  # unacceptable protocol version
    assert provider.raw(CONNECT_MQTT_5) == b"\x20\x02\x00\x01"  # no silent change of version either way


# --- edge ----------------------------------------------------------------------------------------

def test_edge_the_catalog_entry_may_carry_the_mqtt_aas_type_and_the_endpoint_alone_suffices(
        provider: Provider) -> None:
    config = provider.node.config.read_text()  # the token the provider trusts from its peer, the consumer
    token = config.split("[[peers]]", 1)[1].split('token = "', 1)[1].split('"', 1)[0]
    catalog = httpx.post(provider.node.dsp + "/catalog/request", headers={"Authorization": token}, timeout=30, json={
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}).json()
    datasets = catalog.get("dataset") or catalog.get("dcat:dataset") or []
    datasets = datasets if isinstance(datasets, list) else [datasets]
    [events] = [d for d in datasets if d.get("@id") == "mqtt-aas-events"]
    kinds = events.get("dct:type") or events.get("http://purl.org/dc/terms/type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    assert MQTT_AAS in [k.get("@id") if isinstance(k, dict) else k for k in kinds], events
    distributions = events.get("distribution") or events.get("dcat:distribution") or []
    formats = [d.get("format") or d.get("dct:format") for d in
               (distributions if isinstance(distributions, list) else [distributions])]
    assert "Mqtt-PULL" in [f.get("@id") if isinstance(f, dict) else f for f in formats], events  # ADR 012's offer
    # without the catalog: a consumer that knows the endpoint connects and consumes
    client = provider.client("mqtts")
    try:
        assert client.connect() == 0 and client.subscribe("aas/shells/+") == [1]
        shell = {"id": "urn:uuid:adr011-known-endpoint", "idShort": "known"}
        assert provider.node.management("POST", "/v3/registry/shell-descriptors", shell).status_code == 201
        [event] = _events(client, b64url(shell["id"]))
    finally:
        client.close()
    assert event["type"] == "io.admin-shell.events.v1.created" and event["data"]["id"] == shell["id"]


def test_edge_two_consumers_each_receive_the_one_event(provider: Provider) -> None:
    shell = {"id": "urn:uuid:adr011-two-consumers", "idShort": "two"}
    topic = f"aas/shells/{b64url(shell['id'])}"
    first, second = provider.client("mqtts"), provider.client("wss")
    try:
        for client in (first, second):
            assert client.connect() == 0 and client.subscribe(topic) == [1]
        assert provider.node.management("POST", "/v3/registry/shell-descriptors", shell).status_code == 201
        one, two = first.next_message(), second.next_message()
        assert first.messages.empty() and second.messages.empty()
    finally:
        first.close()
        second.close()
    assert one.topic == two.topic == topic and one.payload == two.payload
    assert check_event(one.payload)["data"]["id"] == shell["id"]


@pytest.mark.parametrize("agreed", ["element", "value", "none"])
def test_edge_the_data_property_is_what_the_use_case_agreed(agreed: str, tmp_path: Path) -> None:
    """``[mqtt] event_data`` is the use case's agreement; each setting's events are checked on the wire."""
    ca = make_ca(tmp_path)
    served = serve_broker(ca, OpenAccess())
    item = _serial_part()
    publisher = AasEventPublisher(served.broker, "https://provider.example", data=agreed)
    descriptor = {"id": "urn:uuid:sm-1", "semanticId": {"type": "ExternalReference", "keys": [
        {"type": "GlobalReference", "value": item["aspect"]}]}, "endpoints": [{"interface": "SUBMODEL-3.0",
        "protocolInformation": {"href": "https://provider.example/api/public/parts/x/submodel"}}]}
    client = Client(ca, served.ports["mqtts"])
    try:
        assert client.connect() == 0 and client.subscribe("aas/#") == [1]
        for action in ("updated", "deleted"):
            served.call(lambda a=action: publisher.publish([Change(  # type: ignore[misc]
                "submodel", a, "urn:uuid:twin-1", "urn:uuid:sm-1", descriptor, item["payload"])]))
        updated, deleted = (check_event(client.next_message().payload) for _ in range(2))
    finally:
        client.close()
        served.stop()
    assert "data" not in deleted  # a deletion never carries data, whatever was agreed
    if agreed == "none":
        assert "data" not in updated
    elif agreed == "value":  # the aspect's value-only JSON, its schema the aspect model
        assert updated["data"] == item["payload"] and updated["dataschema"] == item["aspect"]
    else:  # the element: an IDTA-01002 Submodel
        assert updated["data"]["modelType"] == "Submodel" and updated["dataschema"] == SUBMODEL
        if AVAILABLE:
            assert errors(updated["data"], component("Submodel")) == []


# --- negative ------------------------------------------------------------------------------------

def test_negative_unencrypted_tcp_is_refused(provider: Provider) -> None:
    for port in provider.ports.values():  # a plain CONNECT to the TLS and WSS ports: no CONNACK, ever
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(CONNECT_WITH_PASSWORD)
            answer = _read(sock, 4)
        assert not answer.startswith(b"\x20"), (port, answer)
    plain = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="plain", protocol=paho.MQTTv311)
    plain.username_pw_set(USER, PASSWORD)
    connacks: list[object] = []
    plain.on_connect = lambda c, u, f, rc, p: connacks.append(rc)
    plain.connect("127.0.0.1", provider.ports["mqtts"], keepalive=5)
    for _ in range(50):
        if plain.loop(timeout=0.1) != paho.MQTT_ERR_SUCCESS:
            break  # the broker dropped the connection
    assert connacks == []
    assert "tcp_port" not in provider.node.config.read_text()  # no mqtt:// listener unless configured
    log = (provider.node.workdir / "provider.log").read_text(errors="replace")
    for listener in ("mqtts", "mqtt-wss"):  # each refusal is logged, with why
        assert f"refused a connection to {listener} from 127.0.0.1:" in log
    assert "TLS handshake failed (SSLError: [SSL: WRONG_VERSION_NUMBER]" in log


def test_negative_a_non_conforming_payload_fails_validation_and_is_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ca = make_ca(tmp_path)
    misconfigured = serve_broker(ca, StaticCredentials("provider", "pw", may_publish=True))
    consumer = Client(ca, misconfigured.ports["wss"], "wss", username="provider", password="pw")
    provider = Client(ca, misconfigured.ports["mqtts"], username="provider", password="pw")
    try:
        assert consumer.connect() == 0 and consumer.subscribe("aas/#") == [1]
        assert provider.connect() == 0
        provider.client.publish("aas/submodels/x", json.dumps({"hello": "world", "value": 42}), qos=1)
        message = consumer.next_message()
    finally:
        consumer.close()
        provider.close()
        misconfigured.stop()
    with caplog.at_level(logging.WARNING, "pontis.mqtt"), pytest.raises(NonCompliantEvent) as caught:
        check_event(message.payload, message.topic)
    assert caught.value.field == "specversion"
    assert "payload non-compliance on aas/submodels/x: specversion: required, missing" in caplog.text


def test_negative_without_credentials_connack_5(provider: Provider, caplog: pytest.LogCaptureFixture) -> None:
    assert provider.raw(CONNECT_ANONYMOUS) == b"\x20\x02\x00\x05"  # not authorised
    log = (provider.node.workdir / "provider.log").read_text(errors="replace")
    assert "CONNACK 5: no user name or password" in log


SCENARIOS: dict[str, Runner] = {
    "Provider exposes MQTT broker accepting connections via MQTT over WSS":
        test_smoke_mqtt_over_wss_is_accepted_with_connack_0,
    "Provider exposes MQTT broker accepting connections via MQTT over TLS (mqtts)":
        test_smoke_mqtt_over_tls_is_accepted_with_connack_0,
    "MQTT message payload conforms to AAS async API format": test_smoke_a_submodel_change_arrives_as_an_aas_async_api_update,
    "Provider MQTT broker version is MQTT 3.1.1": test_smoke_the_broker_speaks_mqtt_311_and_refuses_other_levels_with_connack_1,
    "Service metadata optionally includes the MQTT-AAS type annotation":
        test_edge_the_catalog_entry_may_carry_the_mqtt_aas_type_and_the_endpoint_alone_suffices,
    "Multiple Consumers subscribe to the same MQTT topic simultaneously": test_edge_two_consumers_each_receive_the_one_event,
    "MQTT message \"data\" property usage is agreed per use-case": test_edge_the_data_property_is_what_the_use_case_agreed,
    "Consumer attempts MQTT over unencrypted TCP (rejected)": test_negative_unencrypted_tcp_is_refused,
    "Consumer receives event with payload not conforming to AAS async API":
        test_negative_a_non_conforming_payload_fails_validation_and_is_logged,
    "Consumer connects without authentication (if auth is required by use-case)": test_negative_without_credentials_connack_5,
}
