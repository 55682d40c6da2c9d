"""HTTP push: the provider streams an asset's data to the consumer's address, once per STARTED push.

A push is a ``DataFlow`` row, registered when the push transfer is requested. ``claim`` leases the
rows whose transfer is STARTED (the provider's start message was acknowledged), so the DSP answer
never waits for data and a push cut off by a crash is taken up again when its lease runs out. A
long push renews its lease as it goes. The result (done or failed, bytes, reason) is stored;
completing or terminating the transfer is left to the caller's ``finish``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

from anyio import to_thread
from sqlalchemy import update
from sqlmodel import col, select

from connector.protocol.transfer_messages import DataAddress
from connector.services.dataflow.sources import (
    BACKEND_ERRORS,
    Body,
    DataRequest,
    Session,
    SourceFailed,
    Sources,
    StoredFile,
)
from connector.services.edr_tokens import EdrError
from connector.services.ssrf import Allowlist, SsrfRefused, acheck_backend_url
from connector.store import Database
from connector.store.models import Asset, DataFlow, TransferProcess

log = logging.getLogger("pontis.dataflow")

LEASE_MS = 120_000


class PushFailed(Exception):
    pass


class PushCancelled(Exception):
    """The transfer was suspended or ended while its data was on the way."""


class Pusher:
    def __init__(self, db: Database, sources: Sources, session: Session, allowlist: Allowlist, *,
                 clock: Callable[[], int], owner: str) -> None:
        self.db = db
        self.sources = sources
        self.session = session
        self.allowlist = allowlist
        self.clock = clock
        self.owner = owner
        self.cancelled: set[str] = set()  # transfers that ended while a push of theirs may run here

    # --- rows ----------------------------------------------------------------------------------

    def release_own(self) -> None:
        """What this node leased when it last died is due again, now."""
        with self.db.write() as session:
            session.execute(update(DataFlow).where(col(DataFlow.lease_owner) == self.owner, col(DataFlow.status) == "running")
                            .values(status="pending", lease_owner=None, lease_until=0))

    def claim(self, limit: int) -> list[str]:
        now = self.clock()
        with self.db.write() as session:
            rows = session.exec(
                select(DataFlow).join(TransferProcess, col(TransferProcess.id) == DataFlow.transfer_id)
                .where(col(DataFlow.status).in_(("pending", "running")), col(DataFlow.lease_until) < now,
                       col(TransferProcess.state) == "STARTED")
                .limit(limit).with_for_update(skip_locked=True, of=DataFlow)).all()
            for row in rows:
                row.status, row.lease_owner, row.lease_until = "running", self.owner, now + LEASE_MS
                row.attempts += 1
                row.updated_at = now
                session.add(row)
                self.cancelled.discard(row.transfer_id)
            return [row.transfer_id for row in rows]

    def record(self, transfer_id: str, **values: Any) -> None:
        with self.db.write() as session:
            session.execute(update(DataFlow).where(col(DataFlow.transfer_id) == transfer_id,
                                                   col(DataFlow.lease_owner) == self.owner)
                            .values(updated_at=self.clock(), **values))

    # --- one push ------------------------------------------------------------------------------

    async def push(self, transfer_id: str) -> tuple[bool, str | None]:
        """Run one claimed push: (True, None) when the receiver took it all, (False, reason) when it
        failed, (False, None) when it was cancelled or broke unexpectedly (it will be tried again)."""
        try:
            sent = await self._send(transfer_id)
        except PushCancelled:
            await to_thread.run_sync(lambda: self.record(transfer_id, status="pending", lease_owner=None,
                                                         lease_until=0))
            return False, None
        except PushFailed as exc:
            reason = str(exc)
            log.warning("push of transfer %s failed: %s", transfer_id, reason)
            await to_thread.run_sync(lambda: self.record(transfer_id, status="failed", error=reason))
            return False, reason
        except Exception:
            log.exception("push of transfer %s broke; its lease runs out and it is tried again", transfer_id)
            return False, None
        await to_thread.run_sync(lambda: self.record(transfer_id, status="done", bytes_sent=sent))
        return True, None

    def _load(self, transfer_id: str) -> tuple[DataAddress, dict]:
        with self.db.read() as session:
            transfer = session.get(TransferProcess, transfer_id)
            asset = session.get(Asset, transfer.asset_id) if transfer else None
            if transfer is None or asset is None:
                raise PushFailed(f"the asset {transfer and transfer.asset_id} of the transfer is gone")
            return DataAddress.from_json(transfer.data_destination or {}), dict(asset.data_address or {})

    async def _send(self, transfer_id: str) -> int:
        destination, address = await to_thread.run_sync(self._load, transfer_id)
        url = destination.endpoint or destination.get("baseUrl") or ""
        try:
            await acheck_backend_url(url, self.allowlist)
        except SsrfRefused as exc:
            raise PushFailed(f"the push destination is refused: {exc.reason}") from exc
        try:
            source = await self.sources.open(address, DataRequest())
        except EdrError as exc:
            raise PushFailed(f"the asset's data could not be read: {exc.reason}") from exc
        if not 200 <= source.status < 300:
            close = getattr(source.body, "aclose", None)  # a streamed body holds a connection until closed
            if close is not None:
                await close()
            raise PushFailed(f"the asset's backend answered HTTP {source.status}")
        headers = {k: v for k, v in source.headers if k.lower() in ("content-type", "content-length")}
        headers.update({p[len("header:"):]: v for p, v in destination.properties if p.startswith("header:")})
        if destination.get("authorization"):  # the consumer's key to its own endpoint, sent as it gave it
            headers["authorization"] = destination.get("authorization") or ""
        if destination.get("authKey") and destination.get("authCode"):
            headers[destination.get("authKey") or ""] = destination.get("authCode") or ""
        counted: list[int] = [0]
        broke: list[BaseException] = []
        try:
            async with self.session().post(url, data=self._pump(transfer_id, source.body, counted, broke),
                                           headers=headers, allow_redirects=False) as answer:
                status, text = answer.status, (await answer.read())[:200].decode(errors="replace")
        except (*BACKEND_ERRORS, SourceFailed, PushCancelled) as exc:
            # the pump says what broke first: aiohttp may hand its exception back wrapped
            cause = broke[0] if broke else exc
            if isinstance(cause, PushCancelled):
                raise cause from None
            raise PushFailed(f"the push to {url} failed after {counted[0]} bytes: {type(cause).__name__}: {cause}") from exc
        if not 200 <= status < 300:
            raise PushFailed(f"the receiver {url} answered HTTP {status}: {text}")
        return counted[0]

    async def _pump(self, transfer_id: str, body: Body, counted: list[int],
                    broke: list[BaseException]) -> AsyncIterator[bytes]:
        if isinstance(body, bytes):
            counted[0] = len(body)
            yield body
            return
        if isinstance(body, StoredFile):
            body = body.chunks()
        beat = self.clock()
        try:
            async for chunk in body:
                if transfer_id in self.cancelled:
                    raise PushCancelled(transfer_id)
                if self.clock() - beat > LEASE_MS // 3:  # a long push keeps its lease
                    beat = self.clock()
                    await to_thread.run_sync(partial(self.record, transfer_id, lease_until=beat + LEASE_MS))
                counted[0] += len(chunk)
                yield chunk
        except (SourceFailed, PushCancelled) as exc:
            broke.append(exc)
            raise
