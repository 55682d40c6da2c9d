"""AAS events over MQTT in the "AAS async API" format (factory-x-contributions/async-aas-helm), and the
consumer-side check of such a message.

A message is a CloudEvents 1.0 envelope: ``specversion`` "1.0", ``id``, ``source`` (the URL the
element can be read from), ``type`` ``io.admin-shell.events.v1.created|updated|deleted``,
``datacontenttype`` "application/json", ``dataschema``, ``time``, and ``data`` as the use case agrees
(``[mqtt] event_data``; never for a deletion). Topics: ``<prefix>/shells/<base64url aas id>`` and
``<prefix>/submodels/<base64url submodel id>``, QoS 1, not retained. Our schema of the message is
``schemas/mqtt/aas-event.schema.json``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from connector.factoryx.submodel import as_submodel
from connector.jsonld.loader import schemas_dir
from connector.mqtt.broker import Broker
from connector.parts.changes import Change
from connector.parts.registry import b64url

log = logging.getLogger("pontis.mqtt")

EVENT_TYPE = "io.admin-shell.events.v1."
CHUNK = 200
PART2 = "https://api.swaggerhub.com/domains/Plattform_i40/Part2-API-Schemas/V3.0.3#/components/schemas/"
PART1 = "https://api.swaggerhub.com/domains/Plattform_i40/Part1-MetaModel-Schemas/V3.0.3#/components/schemas/"
SHELL_DESCRIPTOR, SUBMODEL_DESCRIPTOR, SUBMODEL = (PART2 + "AssetAdministrationShellDescriptor",
                                                   PART2 + "SubmodelDescriptor", PART1 + "Submodel")


class NonCompliantEvent(ValueError):
    """A message that is not an AAS async API event; ``field`` names where it fails."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads((schemas_dir() / "mqtt" / "aas-event.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def check_event(payload: bytes | bytearray | str, topic: str = "?") -> dict[str, Any]:
    """The event in a received message; a non-conforming one is logged ("payload non-compliance",
    naming the field) and raises ``NonCompliantEvent``."""
    try:
        event = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(topic, "(payload)", f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise _refuse(topic, "(payload)", f"expected a JSON object, got {type(event).__name__}")
    for error in sorted(_validator().iter_errors(event), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            where = "/".join(filter(None, [where, missing[0] if missing else ""]))
            raise _refuse(topic, where or "(payload)", "required, missing")
        if list(error.schema_path)[:1] == ["propertyNames"]:
            raise _refuse(topic, str(error.instance), "not a CloudEvents attribute name (a-z, 0-9, at most 20)")
        if error.validator == "not" and "data" in event:
            raise _refuse(topic, "data", "a deleted element's event carries no data")
        raise _refuse(topic, where or "(payload)", error.message)
    try:
        datetime.fromisoformat(event["time"])
    except ValueError:
        raise _refuse(topic, "time", f"not an RFC 3339 date-time: {event['time']!r}") from None
    return event


def _refuse(topic: str, field: str, reason: str) -> NonCompliantEvent:
    log.warning("mqtt: payload non-compliance on %s: %s: %s", topic, field, reason)
    return NonCompliantEvent(field, reason)


@dataclass
class AasEventPublisher:
    """Turns registry changes into AAS events on the broker (on its event loop, from any thread)."""

    broker: Broker
    public_url: str
    prefix: str = "aas"
    data: str = "element"  # [mqtt] event_data
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    loop: asyncio.AbstractEventLoop | None = None

    def topic(self, change: Change) -> str:
        if change.kind == "shell":
            return f"{self.prefix}/shells/{b64url(change.aas_id)}"
        return f"{self.prefix}/submodels/{b64url(change.submodel_id or '')}"

    def source(self, change: Change) -> str:
        base = f"{self.public_url.rstrip('/')}/api/public/shell-descriptors/{b64url(change.aas_id)}"
        if change.kind == "shell":
            return base
        for endpoint in (change.descriptor or {}).get("endpoints", []):
            href = endpoint.get("protocolInformation", {}).get("href")
            if isinstance(href, str) and href.startswith(("http://", "https://")):
                return href
        return f"{base}/submodel-descriptors/{b64url(change.submodel_id or '')}"

    def event(self, change: Change) -> dict[str, Any]:
        """The AAS async API message for one change."""
        schema, data = self._data(change)
        event: dict[str, Any] = {
            "specversion": "1.0", "id": str(uuid.uuid4()), "source": self.source(change),
            "type": EVENT_TYPE + change.action, "datacontenttype": "application/json", "dataschema": schema,
            "time": self.clock().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "subject": change.submodel_id or change.aas_id}
        if data is not None and change.action != "deleted":
            event["data"] = data
        return event

    def _data(self, change: Change) -> tuple[str, dict | None]:
        if change.kind == "shell":
            return SHELL_DESCRIPTOR, None if self.data == "none" else change.descriptor
        semantic = ((change.descriptor or {}).get("semanticId") or {}).get("keys") or [{}]
        semantic_id = semantic[0].get("value")
        if self.data == "none" or change.action == "deleted":
            return SUBMODEL if change.payload is not None else SUBMODEL_DESCRIPTOR, None
        if change.payload is None:  # nothing stored beyond the descriptor: the descriptor is the element
            return SUBMODEL_DESCRIPTOR, change.descriptor
        if self.data == "value":  # the aspect's value-only JSON, described by the aspect model itself
            return semantic_id or SUBMODEL, {k: v for k, v in change.payload.items() if k not in ("proof", "@context")}
        return SUBMODEL, as_submodel(change.payload, change.submodel_id or "", semantic_id or "urn:unknown")

    def publish(self, changes: list[Change]) -> int:
        """Publish now (on the broker's loop); how many deliveries were made."""
        sent = 0
        for change in changes:
            payload = json.dumps(self.event(change), separators=(",", ":")).encode()
            sent += self.broker.publish(self.topic(change), payload, qos=1)
        return sent

    def __call__(self, changes: list[Change]) -> None:
        """A ``ChangeFeed`` listener: called in the writer's thread, hands over to the broker's loop."""
        if self.loop is None or self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop and len(changes) <= CHUNK:
            self.publish(changes)
            return
        # a large import's events go out a chunk per loop turn, so the broker and the HTTP edges
        # keep answering in between
        for start in range(0, len(changes), CHUNK):
            self.loop.call_soon_threadsafe(self.publish, changes[start:start + CHUNK])
