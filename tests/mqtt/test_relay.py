"""AAS events across replicas: two containers on one database, each with its own broker. On PostgreSQL
a change written through replica A reaches the subscribers of both brokers (LISTEN/NOTIFY); on SQLite
(one process) the publisher is the registry's listener itself."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.config import ServerSettings, Settings
from connector.mqtt import packets as p
from connector.mqtt.access import OpenAccess
from connector.mqtt.service import build_mqtt
from connector.services.container import Container, build

from .support import make_ca
from .test_broker import Wire, join, subscribe


class Loop:
    """An event loop in a thread, as the app's lifespan would run the brokers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(20)

    def call(self, fn: Callable[[], Any]) -> Any:
        async def call() -> Any:
            return fn()
        return self.run(call())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def run_replicas(database_url: str, tmp_path: Path, authenticator: Any, **mqtt_extra: Any
                 ) -> Iterator[tuple[list[Container], list[Any], Loop]]:
    """Two containers on ``database_url``, each with its broker started on one loop."""
    ca = make_ca(tmp_path)
    mqtt = {"enabled": True, "tls_port": 0, "wss_port": None, "cert_file": str(ca.cert_file),
            "key_file": str(ca.key_file), "auth": "none", **mqtt_extra}
    settings = Settings(participant_id="did:web:replicated.test", api_key="k", database_url=database_url,
                        server=ServerSettings(public_url="https://replicated.test"), mqtt=mqtt)  # type: ignore[arg-type]
    containers = [build(settings), build(settings)]
    containers[0].db.migrate()
    services = [service for c in containers if (service := build_mqtt(settings, c, authenticator=authenticator))]
    loop = Loop()
    for service in services:
        loop.run(service.start())
    try:
        yield containers, services, loop
    finally:
        for service in services:
            loop.run(service.stop())
        loop.close()
        for container in containers:
            container.db.dispose()


@pytest.fixture
def replicas(database_url: str, tmp_path: Path) -> Iterator[tuple[list[Container], list[Any], Loop]]:
    yield from run_replicas(database_url, tmp_path, OpenAccess())


def _wait(loop: Loop, until: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if loop.call(until):
            return
        time.sleep(0.05)
    raise AssertionError(f"waited 15 s for {what}")


def test_a_change_through_one_replica_reaches_the_subscribers_of_every_replica(
        replicas: tuple[list[Container], list[Any], Loop], database_url: str) -> None:
    containers, services, loop = replicas
    wires: list[Wire] = []
    for service in services:
        def connect(service: Any = service) -> Wire:
            connection, wire = join(service.broker, "sub", now=time.time(), keep_alive=0)
            subscribe(connection, wire, ("aas/#", 1))
            wire.take()
            return wire
        wires.append(loop.call(connect))
    if database_url.startswith("sqlite"):  # one process: no relay, the publisher listens itself
        assert all(service.relay is None for service in services)
    else:
        assert all(service.relay is not None for service in services)
        _wait(loop, lambda: all(s.relay.listening.is_set() for s in services), "both replicas to LISTEN")
    containers[0].parts.registry.create_shell({"id": "urn:uuid:replicated", "idShort": "replicated"})
    reached = [0, 1] if services[0].relay is not None else [0]
    _wait(loop, lambda: all(wires[i].received for i in reached), f"the event at replicas {reached}")
    for i in reached:
        [message] = loop.call(wires[i].take)
        assert isinstance(message, p.Publish) and message.topic.startswith("aas/shells/")
        event = json.loads(message.payload)
        assert event["type"] == "io.admin-shell.events.v1.created"
        assert event["data"] == {"id": "urn:uuid:replicated", "idShort": "replicated", "submodelDescriptors": []}
    containers[reached[-1]].parts.registry.delete_shell("urn:uuid:replicated")  # through the other replica
    _wait(loop, lambda: all(wires[i].received for i in reached), "the deletion")
    for i in reached:
        [message] = loop.call(wires[i].take)
        assert isinstance(message, p.Publish)
        assert json.loads(message.payload)["type"] == "io.admin-shell.events.v1.deleted"
