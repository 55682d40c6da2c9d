"""Test helpers for the broker: a test CA and server certificate (made with ``cryptography``), a broker
served on free ports from a thread of its own, and paho-mqtt clients (the independent client)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import queue
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connector.config.mqtt import MqttSettings
from connector.mqtt.access import Authenticator
from connector.mqtt.broker import Broker
from connector.mqtt.listeners import MqttServer


@dataclass(frozen=True)
class CaFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_ca(folder: Path) -> CaFiles:
    """A CA and a server certificate for 127.0.0.1 and localhost, signed by it (PEM files)."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pontis test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
              .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    out = CaFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    out.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    out.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BrokerThread:
    """An ``MqttServer`` on its own event loop in a thread; ``call`` runs a function on that loop."""

    settings: MqttSettings
    broker: Broker
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    server: MqttServer | None = None
    thread: threading.Thread | None = None

    def start(self) -> BrokerThread:
        self.server = MqttServer(self.settings, self.broker, tick_seconds=0.2)
        self.thread = threading.Thread(target=self.loop.run_forever, name="mqtt-broker", daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self

    def call(self, fn: Callable[[], Any]) -> Any:
        async def run() -> Any:
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self.thread is not None:
            self.thread.join(10)
        self.loop.close()

    @property
    def ports(self) -> dict[str, int]:
        assert self.server is not None
        return self.server.ports


def serve_broker(ca: CaFiles, authenticator: Authenticator, **settings: Any) -> BrokerThread:
    config = MqttSettings(enabled=True, tls_port=0, wss_port=0, cert_file=str(ca.cert_file),
                          key_file=str(ca.key_file), auth="none", **settings)
    return BrokerThread(config, Broker(authenticator, retain=config.keep_retained)).start()


class Client:
    """A paho-mqtt 3.1.1 client over TLS ("mqtts") or WebSocket-over-TLS ("wss") trusting the test CA."""

    def __init__(self, ca: CaFiles | None, port: int, transport: str = "mqtts", *, client_id: str = "",
                 username: str | None = None, password: str | None = None, path: str = "/mqtt",
                 clean_session: bool = True) -> None:
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=paho.MQTTv311, clean_session=clean_session,
                                  transport="websockets" if transport == "wss" else "tcp")
        if transport == "wss":
            self.client.ws_set_options(path=path)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca.ca_file), cert_reqs=ssl.CERT_REQUIRED)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.port = port
        self.connacks: queue.Queue[int] = queue.Queue()
        self.subacks: queue.Queue[list[int]] = queue.Queue()
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.disconnects: queue.Queue[int] = queue.Queue()  # paho's reason codes, one per lost connection
        self.client.on_connect = lambda c, u, flags, rc, props: self.connacks.put(rc.value)
        self.client.on_subscribe = lambda c, u, mid, codes, props: self.subacks.put([r.value for r in codes])
        self.client.on_message = lambda c, u, message: self.messages.put(message)
        self.client.on_disconnect = lambda c, u, flags, rc, props: self.disconnects.put(rc.value)

    def connect(self, timeout: float = 10) -> int:
        """The CONNACK return code."""
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        return self.connacks.get(timeout=timeout)

    def subscribe(self, topic: str, qos: int = 1, timeout: float = 10) -> list[int]:
        self.client.subscribe(topic, qos)
        return self.subacks.get(timeout=timeout)

    def cut_off(self, timeout: float = 10) -> int:
        """Wait until the broker closes the connection; paho's reason code."""
        return self.disconnects.get(timeout=timeout)

    def next_message(self, timeout: float = 10) -> paho.MQTTMessage:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
