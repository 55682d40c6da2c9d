"""Every data-plane access in the audit log: who (the transfer's consumer), which transfer and
agreement, the status and how many bytes left, however they left (body chunks, sendfile, splice);
and in the metrics (bytes, answers by status class)."""

from __future__ import annotations

import logging
import os
from typing import Any

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.dataplane.zerocopy import PATHSEND, SPLICE
from connector.services.audit import AuditTrail
from connector.services.audit.trail import data_access

log = logging.getLogger("pontis.audit")


class DataAccessAudit:
    """ASGI middleware on ``/api/public``: after the response, one ``dataplane.access`` entry."""

    def __init__(self, app: ASGIApp, trail: AuditTrail | None, metrics: Any = None) -> None:
        self.app = app
        self.trail = trail
        self.metrics = metrics  # connector.ops.metrics.Metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/api/public"):
            await self.app(scope, receive, send)
            return
        holder: dict[str, Any] = {"bytes": 0, "status": None}
        token = data_access.set(holder)

        async def counting(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                holder["status"] = message["status"]
            elif kind == "http.response.body":
                holder["bytes"] += len(message.get("body", b""))
            elif kind == PATHSEND:
                holder["bytes"] += os.stat(str(message["path"])).st_size
            await send(message)
            if kind == SPLICE:  # the server says in the message how much it moved
                holder["bytes"] += int(message.get("moved") or 0)
        try:
            await self.app(scope, receive, counting)
        finally:
            data_access.reset(token)
            if self.metrics is not None:
                self.metrics.data_access(holder["status"], holder["bytes"] if "transfer" in holder else 0)
            if "transfer" in holder and self.trail is not None:  # a request whose token named no transfer touched no data
                details = {"method": scope["method"], "path": scope["path"], "status": holder["status"],
                           "bytes": holder["bytes"]}
                try:
                    await to_thread.run_sync(self.trail.record_access, holder["transfer"], details)
                except Exception:  # the consumer has its bytes; a lost entry must be loud
                    log.exception("audit: the access to transfer %s could not be recorded", holder["transfer"])
