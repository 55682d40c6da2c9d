"""Prometheus metrics, one registry per app (tests run several connectors in one process).

Counts of rows (negotiations and transfers by state, the outbox) are read from the database at
scrape time, so every replica reports the shared truth and nothing drifts; what flows (bytes,
denials, latency) is counted in this process as it happens.

``/metrics`` shows business volumes (who trades how much), so it needs a management key (the
``X-Api-Key`` header, or ``Authorization: Bearer <key>``, which is what Prometheus' ``authorization``
scrape setting sends) unless ``[metrics] public = true``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import case, func
from sqlmodel import col, select

from connector.store import Database
from connector.store.models import Negotiation, OutgoingMessage, TransferProcess

router = APIRouter(tags=["operations"])


class RowCounts(Collector):
    """Gauges read from the database when Prometheus scrapes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        negotiations = GaugeMetricFamily("pontis_negotiations", "Contract negotiations by role and state",
                                         labels=["role", "state"])
        transfers = GaugeMetricFamily("pontis_transfers", "Transfer processes by role and state",
                                      labels=["role", "state"])
        outbox = GaugeMetricFamily("pontis_outbox_messages", "DSP messages in the outbox by status",
                                   labels=["status"])
        retries = GaugeMetricFamily("pontis_outbox_retries", "Retries (attempts after the first) of the "
                                    "DSP messages in the outbox, by status", labels=["status"])
        with self.db.read() as session:
            for model, family in ((Negotiation, negotiations), (TransferProcess, transfers)):
                for role, state, count in session.exec(select(model.role, model.state, func.count())
                                                       .group_by(model.role, model.state)):
                    family.add_metric([role, state], count)
            extra = case((col(OutgoingMessage.attempts) > 1, col(OutgoingMessage.attempts) - 1), else_=0)
            for status, count, retried in session.exec(select(OutgoingMessage.status, func.count(), func.sum(extra))
                                                       .group_by(OutgoingMessage.status)):
                outbox.add_metric([status], count)
                retries.add_metric([status], int(retried or 0))
        yield from (negotiations, transfers, outbox, retries)


class Metrics:
    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(RowCounts(db))
        self.data_bytes = Counter("pontis_dataplane_bytes", "Bytes of data sent to consumers (refusals not counted)",
                                  registry=self.registry)
        self.data_requests = Counter("pontis_dataplane_requests", "Data-plane requests answered, by status class",
                                     ["status"], registry=self.registry)
        self.denials = Counter("pontis_policy_denials", "Policy denials of negotiations, by constraint",
                               ["constraint"], registry=self.registry)
        self.latency = Histogram("pontis_http_request_duration_seconds", "Time to answer an HTTP request, by edge",
                                 ["edge", "method", "status"], registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))

    def data_access(self, status: int | None, sent: int) -> None:
        self.data_bytes.inc(sent)
        self.data_requests.labels(f"{(status or 0) // 100}xx").inc()

    def audited(self, kind: str, details: Mapping[str, Any]) -> None:
        """An audit entry was written (``AuditTrail.listeners``): count policy denials by constraint."""
        if kind != "policy.denied":
            return
        for denial in details.get("denials") or [{}]:
            constraint = denial.get("leftOperand") if isinstance(denial, dict) else None
            self.denials.labels(str(constraint or "other")).inc()


def _may_scrape(request: Request) -> bool:
    from connector.management.staff import identify

    settings = request.app.state.services.settings
    if settings.metrics.public:
        return True
    headers = dict(request.headers)
    bearer = headers.get("authorization", "")
    if bearer.lower().startswith("bearer ") and "x-api-key" not in headers:
        headers["x-api-key"] = bearer[7:].strip()
    return identify(settings, headers, getattr(request.app.state, "staff_oidc", None)) is not None


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    if not _may_scrape(request):
        return JSONResponse({"error": "unauthorized", "reason": "/metrics needs a management key: the X-Api-Key "
                             "header or Authorization: Bearer <key> (or [metrics] public = true)"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    found: Metrics = request.app.state.metrics
    body = await to_thread.run_sync(generate_latest, found.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
