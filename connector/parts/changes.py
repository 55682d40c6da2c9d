"""Change notices of the twin registry: a twin (shell descriptor) or a submodel was created, updated
or deleted. Listeners (the MQTT AAS events, connector.mqtt.events) subscribe to the ``ChangeFeed``.

Additive: ``Registry`` and ``PartImporter`` stay as they are; ``build_parts`` builds these observed
subclasses, which tell the feed after each write has committed, and only read what they report when
someone listens. A listener is called in the writer's thread and must not block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlmodel import col, select

from connector.parts.importer import PartImporter
from connector.parts.models import normal_id
from connector.parts.registry import OWNER, Registry
from connector.store.models import PartTwin, TwinSubmodel

log = logging.getLogger("pontis.parts")

Action = Literal["created", "updated", "deleted"]


@dataclass(frozen=True)
class Change:
    """One twin or submodel that changed; ``descriptor``/``payload`` as stored after the change."""

    kind: Literal["shell", "submodel"]
    action: Action
    aas_id: str
    submodel_id: str | None = None
    descriptor: dict | None = None
    payload: dict | None = None  # a submodel's value-only content, when we store it


class ChangeFeed:
    def __init__(self) -> None:
        self.listeners: list[Callable[[list[Change]], None]] = []

    def emit(self, changes: list[Change]) -> None:
        for listener in self.listeners:
            try:
                listener(changes)
            except Exception:  # a listener's fault must not undo or fail the write that committed
                log.exception("a registry change listener failed")


def with_submodels(twin: PartTwin, rows: list[TwinSubmodel]) -> dict:
    """A stored twin's shell descriptor as the registry answers it: with its submodel descriptors."""
    return {**twin.descriptor, "submodelDescriptors": [row.descriptor for row in rows if row.twin_id == twin.id]}


class ObservedRegistry(Registry):
    def __init__(self, db: Any, *, clock: Callable[[], int], feed: ChangeFeed) -> None:
        super().__init__(db, clock=clock)
        self.feed = feed

    def _shell_changed(self, aas_id: str, action: Action) -> None:
        if self.feed.listeners:
            self.feed.emit([Change("shell", action, aas_id, descriptor=self.shell(OWNER, aas_id))])

    def create_shell(self, doc: dict) -> dict:
        out = super().create_shell(doc)
        if self.feed.listeners:
            self.feed.emit([Change("shell", "created", out["id"], descriptor=out)])
        return out

    def put_shell(self, aas_id: str, doc: dict) -> bool:
        created = super().put_shell(aas_id, doc)
        self._shell_changed(aas_id, "created" if created else "updated")
        return created

    def delete_shell(self, aas_id: str) -> None:
        super().delete_shell(aas_id)
        self.feed.emit([Change("shell", "deleted", aas_id)])

    def put_submodel(self, aas_id: str, doc: dict, submodel_id: str | None = None) -> bool:
        created = super().put_submodel(aas_id, doc, submodel_id)
        if self.feed.listeners:
            with self.db.read() as session:
                row = session.get(TwinSubmodel, doc["id"])
                payload = row.payload if row is not None else None
            self.feed.emit([Change("submodel", "created" if created else "updated", aas_id, doc["id"],
                                   descriptor=doc, payload=payload)])
        return created

    def delete_submodel(self, aas_id: str, submodel_id: str) -> None:
        super().delete_submodel(aas_id, submodel_id)
        self.feed.emit([Change("submodel", "deleted", aas_id, submodel_id)])


class ObservedImporter(PartImporter):
    """An import reports its twins and the submodels it wrote (one notice list per import)."""

    def __init__(self, registry: Registry, feed: ChangeFeed, **kwargs: Any) -> None:
        super().__init__(registry, **kwargs)
        self.feed = feed

    def run(self, raw_items: Any, *, policy: str | None = None, access_policy: str | None = None) -> dict:
        since = self.registry.clock()
        result = super().run(raw_items, policy=policy, access_policy=access_policy)
        if not self.feed.listeners:
            return result
        created = {normal_id(part) for part in result["created"]}
        keys = sorted(created | {normal_id(part) for part in result["updated"]})
        changes: list[Change] = []
        with self.registry.db.read() as session:
            for chunk in range(0, len(keys), 500):
                twins = list(session.exec(select(PartTwin).where(col(PartTwin.global_key).in_(keys[chunk:chunk + 500]))))
                rows = list(session.exec(select(TwinSubmodel).where(col(TwinSubmodel.twin_id).in_([t.id for t in twins]))
                                         .order_by(col(TwinSubmodel.created_at), TwinSubmodel.id)))
                changes += [Change("shell", "created" if t.global_key in created else "updated", t.id,
                                   descriptor=with_submodels(t, rows)) for t in twins]
                # written in this import (rows created within its first millisecond count as created)
                changes += [Change("submodel", "created" if row.created_at >= since else "updated", row.twin_id,
                                   row.id, descriptor=row.descriptor, payload=row.payload)
                            for row in rows if row.updated_at >= since]
        self.feed.emit(changes)
        return result
