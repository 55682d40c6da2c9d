"""The network edges (paho-mqtt and raw sockets against listeners on free ports) and the ``[mqtt]``
settings: plain TCP only when configured, WebSocket subprotocol and frame rules, an expiring grant over
the network, and the refusal of unknown or incomplete settings."""

from __future__ import annotations

import base64
import os
import socket
import ssl
import time
from pathlib import Path

import pytest

from connector.config import ConfigError, load_settings
from connector.config.mqtt import MqttSettings
from connector.mqtt.access import Grant, OpenAccess
from connector.mqtt.service import endpoints

from .support import Client, make_ca, serve_broker

CONNECT = b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03raw"  # written by hand: level 4, client id "raw"


def _handshake(port: int, protocol: str | None, context: ssl.SSLContext) -> tuple[bytes, ssl.SSLSocket]:
    sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="localhost")
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET /mqtt HTTP/1.1", f"Host: localhost:{port}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1024)
        if not chunk:
            break
        head += chunk
    return head, sock


def _frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_the_plain_tcp_listener_exists_only_when_configured(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    served = serve_broker(ca, OpenAccess())
    try:
        assert set(served.ports) == {"mqtts", "wss"}
    finally:
        served.stop()
    served = serve_broker(ca, OpenAccess(), tcp_port=0)
    try:
        assert set(served.ports) == {"mqtts", "wss", "mqtt"}
        client = Client(None, served.ports["mqtt"])  # mqtt-tcp-basic: no TLS at all
        try:
            assert client.connect() == 0 and client.subscribe("a/#") == [1]
            served.call(lambda: served.broker.publish("a/b", b"plain"))
            assert client.next_message().payload == b"plain"
        finally:
            client.close()
    finally:
        served.stop()


def test_websocket_needs_the_mqtt_subprotocol_and_binary_frames(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    served = serve_broker(ca, OpenAccess())
    context = ssl.create_default_context(cafile=str(ca.ca_file))
    try:
        head, sock = _handshake(served.ports["wss"], None, context)
        sock.close()
        assert head.startswith(b"HTTP/1.1 400"), head
        head, sock = _handshake(served.ports["wss"], "mqtt", context)
        with sock:
            assert head.startswith(b"HTTP/1.1 101") and b"Sec-WebSocket-Protocol: mqtt" in head, head
            sock.sendall(_frame(0x2, CONNECT[:5]) + _frame(0x2, CONNECT[5:]))  # one packet over two frames
            answer = sock.recv(64)
            assert answer[:2] == b"\x82\x04" and answer[2:6] == b"\x20\x02\x00\x00"  # CONNACK 0, binary frame
            sock.sendall(_frame(0x1, b"text"))
            closing = sock.recv(64)
            assert closing[0] == 0x88  # the broker closes the WebSocket
    finally:
        served.stop()


def test_a_grant_that_expires_disconnects_the_client_over_the_network(tmp_path: Path) -> None:
    class ShortLived:
        def authenticate(self, client_id: str, username: str | None, password: bytes | None, now: int) -> Grant:
            return Grant(subject=client_id, topics=None, expires_at=now + 1)

    ca = make_ca(tmp_path)
    served = serve_broker(ca, ShortLived())
    client = Client(ca, served.ports["mqtts"], client_id="short")
    client.client.reconnect_delay_set(min_delay=60, max_delay=60)  # paho would come back with a new grant
    try:
        assert client.connect() == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and served.call(lambda: "short" in served.broker.active):
            time.sleep(0.1)
        assert not served.call(lambda: "short" in served.broker.active)
    finally:
        client.client.loop_stop()
        served.stop()


def test_a_tls_client_that_does_not_trust_the_certificate_never_connects(tmp_path: Path) -> None:
    served = serve_broker(make_ca(tmp_path / "ours"), OpenAccess())
    stranger = ssl.create_default_context(cafile=str(make_ca(tmp_path / "other").ca_file))
    try:
        with socket.create_connection(("127.0.0.1", served.ports["mqtts"]), timeout=5) as sock, \
                pytest.raises(ssl.SSLCertVerificationError):
            stranger.wrap_socket(sock, server_hostname="localhost")
    finally:
        served.stop()


def _config(tmp_path: Path, table: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(f'participant_id = "did:web:x"\napi_key = "k"\n\n[mqtt]\n{table}\n')
    return path


def test_settings_refuse_an_unknown_key_naming_the_closest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[mqtt\] tls_prot: unknown key; did you mean 'tls_port'"):
        load_settings(_config(tmp_path, "tls_prot = 8883"))


def test_settings_need_the_certificate_when_enabled_and_resolve_it_beside_the_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cert_file and key_file"):
        load_settings(_config(tmp_path, "enabled = true"))
    settings = load_settings(_config(tmp_path, 'enabled = true\ncert_file = "s.pem"\nkey_file = "s.key"'))
    assert settings.mqtt.cert_file == str(tmp_path / "s.pem")
    with pytest.raises(ConfigError, match="topic_prefix"):
        load_settings(_config(tmp_path, 'topic_prefix = "aas/#"'))
    with pytest.raises(ConfigError, match="auth"):
        load_settings(_config(tmp_path, 'auth = "anonymous"'))
    with pytest.raises(ConfigError, match="public_wss_url"):
        load_settings(_config(tmp_path, 'public_wss_url = "ws://plain.example/mqtt"'))


def test_the_endpoints_announced_to_peers() -> None:
    mqtt = MqttSettings(host="broker.example", tls_port=8883, wss_port=443, tcp_port=None)
    assert endpoints(mqtt) == {"mqtt-wss": "wss://broker.example:443/mqtt", "mqtt-tls": "mqtts://broker.example:8883"}
    public = MqttSettings(public_wss_url="wss://events.example/mqtt", tcp_port=1883)
    assert endpoints(public, {"mqtts": 9000, "mqtt": 9001, "wss": 9002}) == {
        "mqtt-wss": "wss://events.example/mqtt", "mqtt-tls": "mqtts://127.0.0.1:9000",
        "mqtt-tcp-basic": "mqtt://127.0.0.1:9001"}
