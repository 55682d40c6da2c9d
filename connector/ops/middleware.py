"""Every request: a correlation id for its log lines (the caller's ``X-Correlation-Id``, else a new
one, echoed in the answer) and its time in the latency histogram, by edge."""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.config import DSP_PATH, MANAGEMENT_PATH
from connector.services.correlation import HEADER, correlation_id

EDGES = ((DSP_PATH, "dsp"), (MANAGEMENT_PATH, "management"), ("/api/public", "dataplane"), ("/health", "health"),
         ("/metrics", "metrics"), ("/ui", "console"), ("/.well-known", "dsp"))


def edge_of(path: str) -> str:
    return next((name for prefix, name in EDGES if path.startswith(prefix)), "other")


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: Any = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(HEADER)
        # a peer's id is logged, never trusted further: keep it short and printable
        cid = given[:128] if given and given.isprintable() else uuid.uuid4().hex[:16]
        token = correlation_id.set(cid)
        started = time.perf_counter()
        status: dict[str, int] = {}

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER.lower().encode(), cid.encode())]
            await send(message)
        try:
            await self.app(scope, receive, stamped)
        finally:
            correlation_id.reset(token)
            if self.metrics is not None:
                self.metrics.latency.labels(edge_of(str(scope.get("path", ""))), scope["method"],
                                            str(status.get("code", 500))).observe(time.perf_counter() - started)
