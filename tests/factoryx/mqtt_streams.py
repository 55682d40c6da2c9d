"""What the ADR 012 tests share: an MQTT stream offered and negotiated between the in-process pair
(tests/transfers/conftest.py), the provider running its own broker on 127.0.0.1 with a test CA
(tests/mqtt/support.py), and paho-mqtt clients for the EDR's broker URL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlmodel import select

from connector.config.mqtt import MqttSettings
from connector.services.edr_tokens import TokenPair
from connector.store.models import TransferProcess
from tests.mqtt.support import CaFiles, Client, make_ca
from tests.transfers.conftest import VOCAB, Pair, make_pair, ok

EDRS = "/management/v3/edrs"
DSP_MQTT = "https://w3id.org/dspace/2025/1/mqtt-pull/"
EDC = "https://w3id.org/edc/v0.0.1/ns/"
STREAM = "stream-press-7"
MQTT_AAS = "https://w3id.org/factoryx/types/mqtt-aas"
WSS = {"mqttEndpointType": "mqtt-wss", "baseUrl": "wss://broker.nordguss.example/mqtt"}
IDP = "https://idp.nordguss.example/realms/mqtt/protocol/openid-connect/token"
EXTERNAL = {"mqttEndpointType": "mqtt-wss", "baseUrl": "wss://broker.nordguss.example/internal/broker",
            "oauth2:tokenUrl": IDP, "oauth2:clientId": "dataspace-user",
            "oauth2:clientSecretKeyAlias": "Oauth2-client-secret", "dsp-mqtt:topic": "topic-name"}
CONNACK_ACCEPTED, CONNACK_NOT_AUTHORIZED = 0, 135  # paho's names for CONNACK 0 and 5 (MQTT 3.1.1 §3.2.2.3)


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
    return str(value.get("@id") if isinstance(value, dict) else value)


def negotiate_stream(two: Pair, asset_id: str = STREAM, transfer_type: str = "Mqtt-PULL") -> dict:
    """``POST /v3/edrs`` for ``asset_id`` with ``transfer_type``; the consumer's transfer once settled."""
    created = ok(two.consumer.post(EDRS, json=two.contract_request(asset_id, transferType=transfer_type)))
    neg = two.wait(two.consumer, f"/management/v3/contractnegotiations/{created['@id']}")
    assert neg["state"] == "FINALIZED", neg
    return two.transfer_of(neg["contractAgreementId"])


@dataclass
class Streams:
    """The pair, the provider running its broker ([mqtt] auth "token": connector.mqtt.tokens)."""

    two: Pair
    ca: CaFiles

    def edr(self, address: dict, asset_id: str = STREAM) -> tuple[dict, dict]:
        """Offer ``address`` as a stream, negotiate it; the consumer's transfer and its EDR."""
        offer_stream(self.two, address, asset_id)
        tp = negotiate_stream(self.two, asset_id)
        return tp, ok(self.two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))

    def client(self, edr: dict, *, password: str | None = None, username: str = "consumer") -> Client:
        """A paho client for the EDR's broker URL and endpoint type; the JWT (or ``password``) as password."""
        url = urlsplit(edr["dsp-mqtt:baseUrl"])
        assert url.hostname == "127.0.0.1" and url.port
        transport = {"wss": "wss", "mqtts": "mqtts", "mqtt": "mqtts"}[url.scheme]
        return Client(None if url.scheme == "mqtt" else self.ca, url.port, transport, path=url.path or "/mqtt",
                      username=username, password=password or edr["dsp-mqtt:authorization"])

    def publish(self, topic: str, payload: bytes) -> int:
        mqtt = self.two.provider_party.app.state.mqtt
        return int(self.two.provider.portal.call(mqtt.broker.publish, topic, payload))  # type: ignore[union-attr]

    def provider_transfer(self, consumer_tp: dict) -> TransferProcess:
        with self.two.provider_party.services.db.read() as session:
            return session.exec(select(TransferProcess).where(
                TransferProcess.consumer_pid == consumer_tp["@id"])).one()

    def token_issued_at(self, consumer_tp: dict, at_ms: int) -> TokenPair:
        """A broker token the provider's EDR key signs for this transfer as if issued at ``at_ms``."""
        services = self.two.provider_party.services
        transfer = self.provider_transfer(consumer_tp)
        with services.db.write() as session:
            return services.edrs.grant(session, transfer, at_ms, audience=services.edrs.broker_audience)


def start_streams(tmp_path: Path) -> Iterator[Streams]:
    """The pair, the provider's broker listening on TLS, WSS and plain TCP (system-chosen ports)."""
    ca = make_ca(tmp_path / "ca")
    broker = MqttSettings(enabled=True, host="127.0.0.1", tls_port=0, wss_port=0, tcp_port=0,
                          cert_file=str(ca.cert_file), key_file=str(ca.key_file), auth="token")
    for two in make_pair(tmp_path, provider_extra={"mqtt": broker}):
        yield Streams(two, ca)


def connected(client: Client) -> int:
    try:
        return client.connect()
    finally:
        client.close()
