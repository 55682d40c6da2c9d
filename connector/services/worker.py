"""The worker that sends stored DSP messages, retries them, and records the results.

Messages queued on this node arrive in memory, already leased to it (``outbox.Dispatch``); it
claims the others (retries, delayed messages, rows a crashed node or another replica left) with
a lease, after a read that finds some due, so an idle worker never takes the write lock. It
sends concurrently and records each result through the services, whose writes are group
commits: results that arrive together share one transaction. It wakes at once when a
transaction queues a message in this process, and polls otherwise. ``run_once`` does one
round, so tests can drive it step by step with a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from anyio import to_thread

from connector.services import outbox
from connector.services.outbox import Dispatch
from connector.services.process import ProcessService
from connector.services.transport import DspClient, PeerUnreachable, SsrfRefused
from connector.store.models import OutgoingMessage

log = logging.getLogger("pontis.worker")


def _reasons(body: object) -> list[str]:
    if isinstance(body, dict):
        raw = body.get("reason")
        items = raw if isinstance(raw, list) else ([raw] if raw else [])
        return [str(i.get("message", i)) if isinstance(i, dict) else str(i) for i in items]
    if isinstance(body, list):  # EDC management-style error arrays
        return [str(i.get("message", i)) if isinstance(i, dict) else str(i) for i in body]
    return [str(body)] if body else []


class OutboxWorker:
    def __init__(
        self,
        processes: list[ProcessService],
        client: DspClient,
        token_for: Callable[[str], str | None],
        *,
        batch: int = 64,
        lease_ms: int = 30_000,
        idle_seconds: float = 0.5,
        owner: str | None = None,
        dispatch: Dispatch | None = None,
        retention_ms: int | None = None,
        prune_seconds: float = 300.0,
    ) -> None:
        # each outgoing message's kind names the service whose process it belongs to
        self.by_kind: dict[str, ProcessService] = {
            kind.value: service for service in processes for kind in service.machine.messages
        }
        self.dispatch = dispatch or processes[0].dispatch
        self.clock = processes[0].clock
        self.db = processes[0].db
        self.client = client
        self.token_for = token_for
        self.batch = batch
        self.lease_ms = lease_ms
        self.idle_seconds = idle_seconds
        self.owner = owner or self.dispatch.owner or f"worker-{uuid.uuid4()}"
        self.dispatch.owner = self.owner
        self._wakeup: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._claim_due = 0.0
        # finished messages and received-message records older than this are deleted (None: kept)
        self.retention_ms = retention_ms
        self.prune_seconds = prune_seconds

    def wake(self) -> None:
        """Thread-safe: called from request handlers after they commit a queued message."""
        if self._loop is not None and self._wakeup is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def _release_own_leases(self) -> int:
        with self.db.write() as session:
            return outbox.release(session, self.owner)

    def prune(self, now: int | None = None) -> int:
        """Delete what is past the retention window, in batches; reads first, so an idle pass writes nothing."""
        if self.retention_ms is None:
            return 0
        before = (self.clock() if now is None else now) - self.retention_ms
        with self.db.read() as session:
            if not outbox.prunable(session, before):
                return 0
        pruned = 0
        while True:
            with self.db.write() as session:
                gone = outbox.prune(session, before)
            pruned += gone
            if gone == 0:
                return pruned

    async def _prune_loop(self) -> None:
        while not self._stopping:
            try:
                pruned = await to_thread.run_sync(self.prune)
                if pruned:
                    log.info("pruned %d finished message record(s) past the retention window", pruned)
            except Exception:  # a failing prune must not stop the sender
                log.exception("pruning message records failed")
            await asyncio.sleep(self.prune_seconds)

    def _claim(self) -> list[OutgoingMessage]:
        now = self.clock()
        with self.db.read() as session:  # idle: a read, no write lock
            if not outbox.any_due(session, now):
                return []
        with self.db.write() as session:
            rows = outbox.claim(session, self.owner, now, self.batch, self.lease_ms, not self.db.is_sqlite)
            return [row for row in rows if self.by_kind[row.kind].fits(session, row)]

    async def _send(self, message: OutgoingMessage) -> None:
        service = self.by_kind[message.kind]
        message_id = message.id
        assert message_id is not None  # stored before it was handed over or claimed
        token = self.token_for(message.process_id)
        try:
            response = await self.client.post(message.url, message.body, token)
        except PeerUnreachable as exc:
            error = str(exc)
            await to_thread.run_sync(lambda: service.failed(message_id, error, permanent=False))
            return
        except SsrfRefused as exc:  # the address itself is forbidden: no retry will change that
            reason = f"refused by the SSRF guard: {exc.reason}"
            await to_thread.run_sync(lambda: service.failed(message_id, reason, permanent=True))
            return
        if response.ok:
            body = response.body if isinstance(response.body, dict) else None
            await to_thread.run_sync(service.acknowledged, message_id, body)
        else:
            permanent = 400 <= response.status < 500 and response.status not in (408, 425, 429)
            error = f"the peer answered HTTP {response.status}"
            reasons = _reasons(response.body)
            await to_thread.run_sync(lambda: service.failed(
                message_id, error, permanent=permanent, peer_reasons=reasons, peer_status=response.status))

    async def run_once(self) -> int:
        """Send what is due now and wait for the answers; returns how many were attempted."""
        self.dispatch.listen(self.wake)
        rows = self.dispatch.take(self.batch)
        rows += await to_thread.run_sync(self._claim)
        if rows:
            await asyncio.gather(*(self._guarded(r) for r in rows))
        return len(rows)

    async def _guarded(self, row: OutgoingMessage) -> None:
        try:
            await self._send(row)
        except Exception:  # the row's lease runs out and it is tried again; never kill the loop
            log.exception("sending message %s failed unexpectedly", row.id)

    async def run(self) -> None:
        """Keep up to ``batch`` sends in flight; a slow peer never holds up the others."""
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self.dispatch.listen(self.wake)
        # what this node had leased when it last died is ours to send again, now
        released = await to_thread.run_sync(self._release_own_leases)
        if released:
            log.info("took back %d message(s) leased before a restart", released)
        in_flight: set[asyncio.Task[None]] = set()
        pruner = asyncio.create_task(self._prune_loop()) if self.retention_ms is not None else None
        while not self._stopping:
            rows: list[OutgoingMessage] = []
            room = self.batch - len(in_flight)
            if room > 0:
                rows = self.dispatch.take(room)  # handed over in memory: no claim needed
                if self.dispatch.claim_wanted:
                    self.dispatch.claim_wanted, self._claim_due = False, 0.0
                if not rows and self._claim_due <= asyncio.get_running_loop().time():
                    try:
                        rows = await to_thread.run_sync(self._claim)
                    except Exception:  # a database hiccup must not kill the sender
                        log.exception("claiming messages failed")
                    if not rows:  # nothing stored is due: the next look after the idle period
                        self._claim_due = asyncio.get_running_loop().time() + self.idle_seconds
            for row in rows:
                task = asyncio.create_task(self._guarded(row))
                in_flight.add(task)
                task.add_done_callback(lambda t: self._done(in_flight, t))
            if rows:
                continue
            try:
                # a wake-up that came while we were claiming is still set: no message waits for a poll
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.idle_seconds)
            except TimeoutError:
                pass
            self._wakeup.clear()
        if pruner is not None:
            pruner.cancel()
        if in_flight:
            await asyncio.wait(in_flight, timeout=5)

    def _done(self, in_flight: set[asyncio.Task[None]], task: asyncio.Task[None]) -> None:
        was_full = len(in_flight) >= self.batch
        in_flight.discard(task)
        if was_full and self._wakeup is not None:
            self._wakeup.set()  # room again: claim what waited

    def stop(self) -> None:
        self._stopping = True
        self.wake()
