"""Registry changes become AAS async API events: the change feed of a real container (SQLite), the
events built from it, and the consumer-side check that names the field a bad message fails on."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.config import ServerSettings, Settings
from connector.mqtt import packets as p
from connector.mqtt.access import OpenAccess
from connector.mqtt.broker import Broker
from connector.mqtt.events import SHELL_DESCRIPTOR, AasEventPublisher, NonCompliantEvent, check_event
from connector.parts.changes import Change
from connector.parts.registry import OWNER, b64url
from connector.services.container import Container, build

from .test_broker import join, subscribe

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "supply-chain" / "parts" / "achsen.json"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Container]:
    settings = Settings(participant_id="did:web:achsen.test", bpn="BPNL00000ACHSEN1", api_key="k",
                        database_url=f"sqlite:///{tmp_path / 'c.db'}", server=ServerSettings(public_url="https://achsen.test"))
    container = build(settings)
    container.db.migrate()
    yield container
    container.db.dispose()


def test_registry_writes_and_imports_are_reported(services: Container) -> None:
    heard: list[Change] = []
    services.parts.changes.listeners.append(heard.extend)
    registry = services.parts.registry
    registry.create_shell({"id": "urn:uuid:s1", "idShort": "one"})
    registry.put_shell("urn:uuid:s1", {"id": "urn:uuid:s1", "idShort": "uno"})
    submodel = {"id": "urn:uuid:sm1", "semanticId": {"type": "ExternalReference",
                                                    "keys": [{"type": "GlobalReference", "value": "urn:x"}]},
                "endpoints": [{"interface": "SUBMODEL-3.0", "protocolInformation": {
                    "href": "https://achsen.test/api/public/sm1/submodel", "endpointProtocol": "HTTP"}}]}
    registry.put_submodel("urn:uuid:s1", submodel)
    registry.put_submodel("urn:uuid:s1", submodel, "urn:uuid:sm1")
    registry.delete_submodel("urn:uuid:s1", "urn:uuid:sm1")
    registry.delete_shell("urn:uuid:s1")
    assert [(c.kind, c.action, c.aas_id, c.submodel_id) for c in heard] == [
        ("shell", "created", "urn:uuid:s1", None), ("shell", "updated", "urn:uuid:s1", None),
        ("submodel", "created", "urn:uuid:s1", "urn:uuid:sm1"), ("submodel", "updated", "urn:uuid:s1", "urn:uuid:sm1"),
        ("submodel", "deleted", "urn:uuid:s1", "urn:uuid:sm1"), ("shell", "deleted", "urn:uuid:s1", None)]
    assert heard[1].descriptor is not None and heard[1].descriptor["idShort"] == "uno"

    heard.clear()
    items = json.loads(EXAMPLES.read_text())[:1]
    services.parts.importer.run(items)
    assert sorted((c.kind, c.action) for c in heard) == [("shell", "created"), ("submodel", "created")]
    [sub] = [c for c in heard if c.kind == "submodel"]
    assert sub.payload == items[0]["payload"]
    [shell] = [c for c in heard if c.kind == "shell"]  # the descriptor as the registry answers it
    assert shell.descriptor is not None and shell.descriptor["submodelDescriptors"] == [sub.descriptor]
    heard.clear()
    services.parts.importer.run(items)
    assert sorted((c.kind, c.action) for c in heard) == [("shell", "updated"), ("submodel", "updated")]


def test_a_failing_listener_does_not_fail_the_write(services: Container, caplog: pytest.LogCaptureFixture) -> None:
    def broken(changes: list[Change]) -> None:
        raise RuntimeError("listener bug")

    services.parts.changes.listeners.append(broken)
    with caplog.at_level(logging.ERROR):
        services.parts.registry.create_shell({"id": "urn:uuid:s2"})
    assert services.parts.registry.shell(OWNER, "urn:uuid:s2")["id"] == "urn:uuid:s2"
    assert "change listener failed" in caplog.text


def _publisher(data: str = "element") -> AasEventPublisher:
    return AasEventPublisher(Broker(OpenAccess()), "https://achsen.test", "fx/aas", data,
                             clock=lambda: datetime(2026, 12, 6, 8, 0, tzinfo=UTC))


def test_events_topics_and_envelope() -> None:
    publisher = _publisher()
    shell = Change("shell", "created", "urn:uuid:s1", descriptor={"id": "urn:uuid:s1"})
    event = publisher.event(shell)
    assert publisher.topic(shell) == f"fx/aas/shells/{b64url('urn:uuid:s1')}"
    assert check_event(json.dumps(event)) == event
    assert event["time"] == "2026-12-06T08:00:00.000Z" and event["dataschema"] == SHELL_DESCRIPTOR
    assert event["source"] == f"https://achsen.test/api/public/shell-descriptors/{b64url('urn:uuid:s1')}"
    gone = publisher.event(Change("submodel", "deleted", "urn:uuid:s1", "urn:uuid:sm"))
    assert "data" not in gone and gone["type"] == "io.admin-shell.events.v1.deleted"
    assert publisher.topic(Change("submodel", "deleted", "a", "urn:uuid:sm")) == f"fx/aas/submodels/{b64url('urn:uuid:sm')}"
    check_event(json.dumps(gone))


def test_publishing_reaches_a_subscribed_session_at_qos_1() -> None:
    publisher = _publisher()
    change = Change("shell", "created", "urn:uuid:s1", descriptor={"id": "urn:uuid:s1"})
    assert publisher.publish([change]) == 0  # nobody listens yet
    connection, wire = join(publisher.broker, "sub")
    subscribe(connection, wire, ("fx/aas/#", 1))
    wire.take()
    assert publisher.publish([change]) == 1
    [message] = wire.take()
    assert isinstance(message, p.Publish) and message.qos == 1 and message.topic == publisher.topic(change)
    assert check_event(message.payload)["data"] == {"id": "urn:uuid:s1"}


GOOD = _publisher().event(Change("shell", "updated", "urn:uuid:s1", descriptor={"id": "urn:uuid:s1"}))


@pytest.mark.parametrize(("payload", "field"), [
    (b"not json", "(payload)"), (b"[1]", "(payload)"),
    ({**GOOD, "specversion": "0.3"}, "specversion"),
    ({k: v for k, v in GOOD.items() if k != "source"}, "source"),
    ({**GOOD, "source": "urn:not-a-url"}, "source"),
    ({**GOOD, "type": "io.admin-shell.events.v1.exploded"}, "type"),
    ({**GOOD, "datacontenttype": "text/plain"}, "datacontenttype"),
    ({**GOOD, "time": "yesterday"}, "time"),
    ({**GOOD, "data": "a string"}, "data"),
    ({**GOOD, "type": "io.admin-shell.events.v1.deleted"}, "data"),
    ({**GOOD, "Bad_Name": 1}, "Bad_Name"),
])
def test_a_non_conforming_message_is_refused_naming_the_field(payload: object, field: str,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    with caplog.at_level(logging.WARNING, "pontis.mqtt"), pytest.raises(NonCompliantEvent) as caught:
        check_event(raw, "t/1")
    assert caught.value.field == field
    assert f"payload non-compliance on t/1: {field}:" in caplog.text


def test_changes_from_another_thread_reach_the_loop_in_order_in_chunks() -> None:
    publisher = _publisher()
    connection, wire = join(publisher.broker, "sub")
    subscribe(connection, wire, ("fx/aas/#", 0))
    wire.take()
    loop = asyncio.new_event_loop()
    worker = threading.Thread(target=loop.run_forever, daemon=True)
    worker.start()
    publisher.loop = loop
    try:
        changes = [Change("shell", "updated", f"urn:uuid:{i}", descriptor={"id": f"urn:uuid:{i}"}) for i in range(450)]
        publisher(changes)  # from this thread, as a registry write in a request's worker thread would
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(5)  # after the three chunks
    finally:
        loop.call_soon_threadsafe(loop.stop)
        worker.join(5)
        loop.close()
    subjects = [json.loads(x.payload)["subject"] for x in wire.take() if isinstance(x, p.Publish)]
    assert subjects == [f"urn:uuid:{i}" for i in range(450)]
