"""The broker as one running part of a connector: built from ``[mqtt]``, started and stopped by the
app's lifespan (``connector serve``), hearing the twin registry's changes and, with ``auth = "token"``,
the transfers that end (``cutoff``)."""

from __future__ import annotations

import asyncio
import importlib
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.config import ConfigError, Settings
from connector.config.mqtt import MqttSettings
from connector.mqtt.access import Authenticator, OpenAccess, StaticCredentials
from connector.mqtt.broker import Broker
from connector.mqtt.cutoff import Rechecks, TransferWatch
from connector.mqtt.events import AasEventPublisher
from connector.mqtt.listeners import MqttServer, server_tls_context
from connector.mqtt.relay import ReplicaRelay, channel_for
from connector.parts.changes import Change


def authenticator_for(settings: Settings, services: Any) -> Authenticator:
    """``[mqtt] auth``: "none", "password", or "token" (the EDRs we issued: ``connector.mqtt.tokens``)."""
    mqtt = settings.mqtt
    if mqtt.auth == "none":
        return OpenAccess()
    if mqtt.auth == "password":
        return StaticCredentials(mqtt.username or "", mqtt.password or "")
    try:
        factory = importlib.import_module("connector.mqtt.tokens").transfer_access
    except (ImportError, AttributeError):
        raise ConfigError('[mqtt] auth: "token" needs connector.mqtt.tokens, absent from this build; '
                          'use "password" or "none"') from None
    authenticator: Authenticator = factory(services)
    return authenticator


def endpoints(mqtt: MqttSettings, ports: dict[str, int] | None = None) -> dict[str, str]:
    """What peers are told to connect to, by ADR 012 endpoint type (the bound ports when running)."""
    bound = ports or {}
    out: dict[str, str] = {}
    if mqtt.wss_port is not None:
        out["mqtt-wss"] = mqtt.public_wss_url or f"wss://{mqtt.host}:{bound.get('wss', mqtt.wss_port)}{mqtt.wss_path}"
    if mqtt.tls_port is not None:
        out["mqtt-tls"] = mqtt.public_mqtts_url or f"mqtts://{mqtt.host}:{bound.get('mqtts', mqtt.tls_port)}"
    if mqtt.tcp_port is not None:
        out["mqtt-tcp-basic"] = f"mqtt://{mqtt.host}:{bound.get('mqtt', mqtt.tcp_port)}"
    return out


def configured_ports(mqtt: MqttSettings) -> list[int]:
    """The fixed ports the listeners will bind (0, any free port, is not checked beforehand)."""
    return [port for port in (mqtt.tls_port, mqtt.wss_port, mqtt.tcp_port) if port]


def check_certificate(mqtt: MqttSettings) -> None:
    """Refuse, in one line, a server certificate and key that cannot be loaded (before serving)."""
    if not (mqtt.cert_file and mqtt.key_file):
        return
    for path in (mqtt.cert_file, mqtt.key_file):
        if not os.path.isfile(path):
            raise ValueError(f"[mqtt] cert_file/key_file: no such file {path}")
    try:
        server_tls_context(mqtt.cert_file, mqtt.key_file)
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"[mqtt] cert_file/key_file: {mqtt.cert_file} and {mqtt.key_file} are not a PEM "
                         f"certificate and its key ({exc})") from None


@dataclass
class MqttService:
    broker: Broker
    server: MqttServer
    publisher: AasEventPublisher
    changes: Any  # connector.parts.changes.ChangeFeed
    relay: ReplicaRelay | None = None  # PostgreSQL: every replica's broker hears every change
    watch: TransferWatch | None = None  # auth "token": a transfer that ends cuts its clients off
    transfer_states: Any = None  # the transfer service's StateWaits, which the watch listens to

    @property
    def endpoints(self) -> dict[str, str]:
        return endpoints(self.server.settings, self.server.ports)

    @property
    def listener(self) -> Callable[[list[Change]], None]:
        return self.relay or self.publisher

    async def start(self) -> None:
        await self.server.start()
        self.publisher.loop = asyncio.get_running_loop()
        if self.relay is not None:
            self.relay.start()
        self.changes.listeners.append(self.listener)
        if self.watch is not None:
            self.watch.start(self.server.checks.call if self.server.checks is not None else None)
            self.transfer_states.listeners.append(self.watch.moved)

    async def stop(self) -> None:
        if self.listener in self.changes.listeners:
            self.changes.listeners.remove(self.listener)
        if self.watch is not None:
            if self.watch.moved in self.transfer_states.listeners:
                self.transfer_states.listeners.remove(self.watch.moved)
            await self.watch.stop()
        if self.relay is not None:
            await self.relay.stop()
        self.publisher.loop = None
        await self.server.stop()


def build_mqtt(settings: Settings, services: Any, authenticator: Authenticator | None = None) -> MqttService | None:
    """The broker ``[mqtt]`` describes, or None when it is not enabled."""
    mqtt = settings.mqtt
    if not mqtt.enabled:
        return None
    broker = Broker(authenticator or authenticator_for(settings, services), max_packet_bytes=mqtt.max_packet_bytes,
                    max_queued=mqtt.max_queued, retain=mqtt.keep_retained, max_clients=mqtt.max_clients)
    publisher = AasEventPublisher(broker, settings.public_url, mqtt.topic_prefix, mqtt.event_data)
    replicas = not services.db.is_sqlite
    relay = ReplicaRelay(services.db, publisher, channel_for(settings.participant_id, settings.database_url)) \
        if replicas else None
    server = MqttServer(mqtt, broker)
    watch = None
    if isinstance(broker.authenticator, Rechecks):  # its grants name transfers (connector.mqtt.tokens)
        watch = TransferWatch(broker, broker.authenticator, server.clock,
                              db=services.db if replicas else None,
                              channel=channel_for(settings.participant_id, settings.database_url, "pontis_transfer")
                              if replicas else None, recheck_seconds=mqtt.recheck_seconds)
    return MqttService(broker, server, publisher, services.parts.changes, relay, watch,
                       services.transfers.waits if watch is not None else None)
