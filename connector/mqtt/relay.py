"""AAS events across replicas: with PostgreSQL, every replica's broker announces every change.

Replicas of one connector share a PostgreSQL database but each runs its own broker; a change written
through one replica must reach the clients of all. The ``ReplicaRelay`` is the registry's change
listener instead of the publisher: after the write commits it sends the changes' references (kind,
action, ids: small, whatever the element's size) by ``NOTIFY`` on a channel named after the connector
and its schema; each replica, the writer included, ``LISTEN``s, reads the elements as stored now and
publishes through its own broker. Should the NOTIFY fail, the writer publishes locally (logged).
With SQLite there is one process: the publisher listens directly.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from connector.mqtt.events import AasEventPublisher
from connector.parts.changes import Change, with_submodels
from connector.store import Database
from connector.store.db import normalize_url
from connector.store.models import PartTwin, TwinSubmodel

log = logging.getLogger("pontis.mqtt")
MAX_NOTIFY_BYTES = 7000  # PostgreSQL's limit is 8000 bytes per payload


def channel_for(participant_id: str, database_url: str, prefix: str = "pontis_aas") -> str:
    """One channel per connector and schema (NOTIFY channels are database-wide)."""
    options = make_url(normalize_url(database_url)).query.get("options")
    digest = hashlib.sha256(f"{participant_id}|{options or ''}".encode()).hexdigest()[:20]
    return f"{prefix}_{digest}"


def _conninfo(database_url: str) -> str:
    return make_url(normalize_url(database_url)).set(drivername="postgresql").render_as_string(hide_password=False)


def notify(db: Database, channel: str, payloads: list[str]) -> None:
    """NOTIFY every replica listening on ``channel`` (raises when the database cannot be reached)."""
    with db.engine.begin() as conn:
        for payload in payloads:
            conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload})


async def listen(db: Database, channel: str, handle: Callable[[str], Awaitable[None]], listening: asyncio.Event,
                 retry_seconds: float) -> None:
    """LISTEN on ``channel`` until cancelled, ``handle`` each payload; a lost connection is re-opened
    (notices meanwhile are missed, logged)."""
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(_conninfo(str(db.url)), autocommit=True) as conn:
                await conn.execute(f'LISTEN "{channel}"')
                listening.set()
                async for notice in conn.notifies():
                    await handle(notice.payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the database went away: listen again
            log.warning("mqtt: listening on %s failed (%s); again in %g s", channel, exc, retry_seconds)
        listening.clear()
        await asyncio.sleep(retry_seconds)


class ReplicaRelay:
    def __init__(self, db: Database, publisher: AasEventPublisher, channel: str, *, retry_seconds: float = 1.0) -> None:
        self.db, self.publisher, self.channel = db, publisher, channel
        self.retry_seconds = retry_seconds
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # the writer's side (any thread, after commit)

    def __call__(self, changes: list[Change]) -> None:
        payloads, chunk = [], []
        for change in changes:
            chunk.append([change.kind, change.action, change.aas_id, change.submodel_id])
            if len(json.dumps(chunk)) > MAX_NOTIFY_BYTES:
                payloads.append(json.dumps(chunk[:-1]))
                chunk = chunk[-1:]
        payloads.append(json.dumps(chunk))
        try:
            notify(self.db, self.channel, payloads)
        except Exception as exc:  # noqa: BLE001 - the change is committed: announce it here at least
            log.warning("mqtt: could not tell the other replicas of %d changes (%s); announced here only",
                        len(changes), exc)
            self.publisher(changes)

    # every replica's side (the broker's event loop)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def run(self) -> None:
        """LISTEN until cancelled (``listen``)."""
        await listen(self.db, self.channel, self._announce, self.listening, self.retry_seconds)

    async def _announce(self, payload: str) -> None:
        try:
            references = [tuple(item) for item in json.loads(payload)]
        except (ValueError, TypeError):
            log.warning("mqtt: a change notice that is not ours on %s: %.80r", self.channel, payload)
            return
        changes = await asyncio.to_thread(self.load, references)
        self.publisher.publish(changes)

    def load(self, references: list[tuple[Any, ...]]) -> list[Change]:
        """The changes with the elements as stored now (none for a deletion or an element gone since)."""
        out: list[Change] = []
        with self.db.read() as session:
            twins = {row.id: row for row in session.exec(select(PartTwin).where(col(PartTwin.id).in_(
                [r[2] for r in references if r[0] == "shell" and r[1] != "deleted"])))}
            of_twins = list(session.exec(select(TwinSubmodel).where(col(TwinSubmodel.twin_id).in_(list(twins)))
                                         .order_by(col(TwinSubmodel.created_at), TwinSubmodel.id)))
            submodels = {row.id: row for row in session.exec(select(TwinSubmodel).where(col(TwinSubmodel.id).in_(
                [r[3] for r in references if r[0] == "submodel" and r[1] != "deleted"])))}
        for kind, action, aas_id, submodel_id in references:
            if kind == "shell":
                twin = twins.get(aas_id)
                out.append(Change("shell", action, aas_id, descriptor=with_submodels(twin, of_twins) if twin else None))
            else:
                row = submodels.get(submodel_id)
                out.append(Change("submodel", action, aas_id, submodel_id, row.descriptor if row else None,
                                  row.payload if row else None))
        return out
