"""Traversal jobs as persisted rows, advanced by a worker: register, read, list, cancel; run.

A job is a ``ProvenanceJob`` row: INITIAL when registered, RUNNING once a worker holds its lease,
then COMPLETED, CANCELED or ERROR. While it runs, the worker saves what it has found (the item
graph and summary) every ``SAVE_SECONDS`` and renews its lease, so ``GET`` shows partial results
(IRS's 206) and a connector that dies mid-job has the job taken up again (from the start) by the
next worker whose lease check finds it. ``PUT`` (cancel) marks the row CANCELED; the worker sees it
at its next save and stops the walk, keeping what it had. A job that passes its deadline is
stopped the same way and ends in ERROR, saying so, with every unfinished node a tombstone.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from anyio import to_thread
from sqlalchemy import func, or_, update
from sqlalchemy.orm import defer
from sqlmodel import col, select

from connector.provenance.aspects import aspect_name, wanted
from connector.provenance.contracts import Contracts, Refused
from connector.provenance.directory import Directory, NotInDirectory
from connector.provenance.graph import Graph
from connector.provenance.job import DONE, JobParameter
from connector.provenance.suppliers import LocalSupplier, RemoteSupplier, local_twin_exists
from connector.provenance.traversal import Traversal
from connector.services.errors import Conflict, NotFound
from connector.store.models import ProvenanceJob

log = logging.getLogger("pontis.provenance")

SAVE_SECONDS = 1.0
LEASE_MS = 15_000


class JobService:
    def __init__(self, services: Any, *, clock: Callable[[], int]) -> None:
        self.services, self.db, self.clock = services, services.db, clock
        self.settings = services.settings.provenance
        self.owner = services.settings.worker_owner
        self.directory = Directory(services.settings, self._resolve_did)
        self.contracts = Contracts(services, negotiation_timeout=self.settings.negotiation_timeout_seconds)
        self._resolver: Any = None
        self._wake: asyncio.Event | None = None
        self._running: dict[str, asyncio.Task] = {}
        self._stopping = False

    # --- identity: DID documents for the directory and for signature checks --------------------------

    @property
    def resolver(self) -> Any:
        if self._resolver is None:
            from connector.identity.did import DidResolver
            from connector.services.transport import DocumentFetch

            ours = getattr(self.services, "identity", None)
            identity = self.services.settings.identity
            # suppliers' DID documents come through the outgoing guard, cached like any other
            self._resolver = ours.resolver if ours is not None else DidResolver(
                allow_insecure_localhost=identity.allow_insecure_did_web, ttl_seconds=identity.did_cache_seconds,
                fetch=DocumentFetch(self.services.guard))
        return self._resolver

    def _resolve_did(self, did: str) -> dict:
        return self.resolver.resolve(did)

    # --- staff's side (blocking: routes call these from a thread) ------------------------------------

    def register(self, parameter: JobParameter) -> ProvenanceJob:
        if self.directory.is_own(parameter.bpn) and not local_twin_exists(self.services.parts.registry, parameter.global_asset_id):
            raise NotFound("job.unknown-part", f"key.globalAssetId: no part {parameter.global_asset_id} in our own "
                                               f"registry ({parameter.bpn}); import it first, or name its owner's BPN",
                           path="key.globalAssetId")
        if not self.directory.is_own(parameter.bpn):
            try:
                self.directory.lookup(parameter.bpn)
            except NotInDirectory as exc:
                raise NotFound("job.unknown-bpn", f"key.bpn: {exc}", path="key.bpn") from None
        now = self.clock()
        row = ProvenanceJob(id=str(uuid.uuid4()), state="INITIAL", global_asset_id=parameter.global_asset_id,
                            bpn=parameter.bpn, parameter=parameter.to_row(), created_at=now, updated_at=now,
                            deadline_at=now + int(self.settings.job_deadline_seconds * 1000))
        with self.db.write() as session:
            session.add(row)
        log.info("provenance job %s registered: %s at %s, %s", row.id, row.global_asset_id, row.bpn,
                 parameter.direction)
        self.wake()
        return row

    def get(self, job_id: str, *, with_result: bool = True) -> ProvenanceJob:
        """The job; without its item graph (``with_result=False``) when only its state is wanted."""
        with self.db.read() as session:
            query = select(ProvenanceJob).where(ProvenanceJob.id == job_id)
            if not with_result:  # a polling client must not cost us the parse of a large graph
                query = query.options(defer(ProvenanceJob.result))  # type: ignore[arg-type]  # a SQLModel field is an InstrumentedAttribute at run time
            row = session.exec(query).first()
            if row is not None and not with_result:
                row = ProvenanceJob(**{k: getattr(row, k) for k in ProvenanceJob.model_fields if k != "result"})
        if row is None:
            raise NotFound("job.unknown", f"no job {job_id!r}", path="id")
        return row

    def page(self, states: list[str], page: int, size: int) -> tuple[list[ProvenanceJob], int]:
        with self.db.read() as session:
            query = select(ProvenanceJob)
            count = select(func.count()).select_from(ProvenanceJob)
            if states:
                query = query.where(col(ProvenanceJob.state).in_(states))
                count = count.where(col(ProvenanceJob.state).in_(states))
            rows = session.exec(query.order_by(col(ProvenanceJob.created_at).desc()).offset(page * size).limit(size)).all()
            return list(rows), int(session.exec(count).one())

    def cancel(self, job_id: str) -> ProvenanceJob:
        now = self.clock()
        with self.db.write() as session:
            row = session.get(ProvenanceJob, job_id, with_for_update=True)
            if row is None:
                raise NotFound("job.unknown", f"no job {job_id!r}", path="id")
            if row.state in DONE:
                raise Conflict("job.done", f"job {job_id} is {row.state} and can no longer be canceled")
            row.state, row.completed_at, row.updated_at = "CANCELED", now, now
            session.add(row)
        task = self._running.get(job_id)
        if task is not None:
            task.get_loop().call_soon_threadsafe(task.cancel)
        return row

    # --- the worker ------------------------------------------------------------------------------------

    def wake(self) -> None:
        if self._wake is not None:
            try:
                asyncio.get_running_loop()
                self._wake.set()
            except RuntimeError:  # called from a thread: hand it to the loop
                self._loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        self._stopping = True
        for task in list(self._running.values()):
            task.cancel()
        if self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _finished(self, job_id: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not self._stopping:
            free = self.settings.jobs_at_once - len(self._running)
            if free > 0:
                try:
                    for row in await to_thread.run_sync(self._claim, free, self.clock()):
                        task = self._running[row.id] = asyncio.create_task(self._execute(row))
                        task.add_done_callback(functools.partial(self._finished, row.id))
                except Exception:  # a failing database must not end the worker
                    log.exception("provenance worker: claiming jobs failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except TimeoutError:
                pass

    def _claim(self, limit: int, now: int) -> list[ProvenanceJob]:
        with self.db.write() as session:
            rows = session.exec(select(ProvenanceJob).where(or_(
                col(ProvenanceJob.state) == "INITIAL",
                (col(ProvenanceJob.state) == "RUNNING") & (col(ProvenanceJob.lease_until) < now),
            )).order_by(col(ProvenanceJob.created_at)).limit(limit).with_for_update(skip_locked=True)).all()
            for row in rows:
                row.state, row.lease_owner, row.lease_until = "RUNNING", self.owner, now + LEASE_MS
                row.started_at, row.attempts, row.updated_at = row.started_at or now, row.attempts + 1, now
                session.add(row)
            return list(rows)

    def _save(self, job_id: str, found: tuple[dict, dict], state: str | None, exception: dict | None = None) -> bool:
        """Store what the job found (a snapshot taken on the event loop, where the walk changes the graph);
        False when it is no longer ours to write (canceled, or taken over)."""
        now = self.clock()
        values: dict[str, Any] = {"result": found[0], "summary": found[1], "updated_at": now}
        if state is None:
            values["lease_until"] = now + LEASE_MS
        else:
            values.update(state=state, completed_at=now, exception=exception, lease_owner=None)
        with self.db.write() as session:
            changed = session.execute(update(ProvenanceJob).where(
                col(ProvenanceJob.id) == job_id, col(ProvenanceJob.state) == "RUNNING",
                col(ProvenanceJob.lease_owner) == self.owner).values(**values)).rowcount
            if not changed:  # canceled meanwhile: keep its state, store the findings
                session.execute(update(ProvenanceJob).where(col(ProvenanceJob.id) == job_id,
                                                            col(ProvenanceJob.state) == "CANCELED")
                                .values(result=values["result"], summary=values["summary"], updated_at=now))
        return bool(changed)

    def _release(self, job_id: str) -> None:
        with self.db.write() as session:
            session.execute(update(ProvenanceJob).where(
                col(ProvenanceJob.id) == job_id, col(ProvenanceJob.state) == "RUNNING",
                col(ProvenanceJob.lease_owner) == self.owner).values(lease_until=0, lease_owner=None))

    def _supplier_for(self, parameter: JobParameter, made: dict[str, Any]) -> Callable[[str], Any]:
        def prefetch(urn: str) -> bool:  # the aspects every twin of a supplier will be asked for
            return aspect_name(urn) == parameter.relationship_aspect or (
                parameter.collect_aspects and any(wanted(a, urn) for a in parameter.aspects))

        lock = asyncio.Lock()
        own_bpn = self.services.settings.bpn

        async def supplier_for(bpn: str) -> Any:
            async with lock:
                if bpn not in made:
                    if self.directory.is_own(bpn):
                        made[bpn] = LocalSupplier(bpn, self.services.parts.registry)
                    else:
                        try:
                            endpoints = await to_thread.run_sync(self.directory.lookup, bpn)
                        except NotInDirectory as exc:
                            made[bpn] = exc
                        else:
                            made[bpn] = RemoteSupplier(
                                bpn, endpoints, self.services, self.contracts, own_bpn=own_bpn,
                                timeout=self.settings.call_timeout_seconds, max_bytes=self.settings.max_answer_bytes,
                                resolve_key=self.resolver.resolve_key, prefetch=prefetch)
            if isinstance(made[bpn], NotInDirectory):
                raise Refused("DigitalTwinRequest", str(made[bpn]))
            return made[bpn]

        return supplier_for

    async def _execute(self, row: ProvenanceJob) -> None:
        parameter = JobParameter.from_row(row.parameter)
        graph, suppliers = Graph(), dict[str, Any]()
        walk = Traversal(parameter, graph, self._supplier_for(parameter, suppliers), clock=self.clock,
                         max_children=self.settings.max_children_per_node, concurrency=self.settings.concurrency)
        task = asyncio.create_task(walk.run())
        outcome, exception = "COMPLETED", None
        pause = SAVE_SECONDS
        try:
            while not task.done():
                left = (row.deadline_at - self.clock()) / 1000
                if left <= 0:
                    task.cancel()
                    walk.cancel()
                    outcome, exception = "ERROR", self._deadline(row, graph)
                    break
                await asyncio.wait([task], timeout=min(pause, left))
                if task.done():
                    break
                took = time.monotonic()
                if not await to_thread.run_sync(self._save, row.id, (graph.to_result(), graph.summary()), None):
                    task.cancel()
                    walk.cancel()
                    return await self._finish(row.id, graph, None)  # canceled (or no longer ours)
                # a big graph takes a while to store: save it less often than the walk runs
                pause = max(SAVE_SECONDS, 20 * (time.monotonic() - took))
            failure = task.exception() if task.done() and not task.cancelled() else None
            if failure is not None:
                raise failure
        except asyncio.CancelledError:
            task.cancel()
            walk.cancel()
            if self._stopping:  # shutting down: let the next worker (after a restart) take it up at once
                await asyncio.shield(to_thread.run_sync(self._release, row.id))
            else:
                await asyncio.shield(self._finish(row.id, graph, None))
            raise
        except Exception as exc:
            log.exception("provenance job %s failed", row.id)
            outcome, exception = "ERROR", {"exception": type(exc).__name__, "errorDetail": str(exc)[:4000],
                                          "exceptionDate": self.clock()}
        finally:
            for supplier in suppliers.values():
                if isinstance(supplier, RemoteSupplier):
                    supplier.cancel()
        await self._finish(row.id, graph, outcome, exception)

    def _deadline(self, row: ProvenanceJob, graph: Graph) -> dict:
        seconds = (row.deadline_at - row.created_at) / 1000
        unfinished = [n for n in graph.nodes.values() if not n.done]
        for node in unfinished:
            graph.tombstone(node.id, node.bpn, "SubmodelRequest", f"not reached before the job's deadline "
                            f"({seconds:g} s after it was registered)", self.clock())
            node.done = True
        return {"exception": "JobDeadlineExceeded", "exceptionDate": self.clock(),
                "errorDetail": f"the job passed its deadline of {seconds:g} s with {len(unfinished)} parts unfinished; "
                               "what was found is kept and the unfinished parts are tombstones"}

    async def _finish(self, job_id: str, graph: Graph, state: str | None, exception: dict | None = None) -> None:
        found = (graph.to_result(), graph.summary())
        await to_thread.run_sync(self._save, job_id, found, state or "CANCELED", exception)
        log.info("provenance job %s: %s, %d parts, %d relationships, %d tombstones", job_id, state or "stopped",
                 len(graph.nodes), len(graph.links), len(graph.tombstones))
