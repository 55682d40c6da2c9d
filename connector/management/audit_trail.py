"""Every management write in the audit log, with who made it (ASGI middleware on ``/management``).

A write is a POST, PUT, PATCH or DELETE that is not a query (EDC queries are ``POST .../request``).
Entries that the write causes (an agreement, a transfer started by staff) name the same actor.
Unauthenticated calls change nothing and are not recorded.
"""

from __future__ import annotations

import logging
from typing import Any

from anyio import to_thread
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.config import MANAGEMENT_PATH, Settings
from connector.management.staff import identify, is_query
from connector.services.audit import AuditTrail, acting_as

log = logging.getLogger("pontis.audit")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def is_write(method: str, path: str) -> bool:
    return method in WRITES and not is_query(method, path)


class ManagementWriteAudit:
    def __init__(self, app: ASGIApp, trail: AuditTrail, settings: Settings) -> None:
        self.app = app
        self.trail = trail
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(MANAGEMENT_PATH) \
                or not is_write(scope["method"], path):
            await self.app(scope, receive, send)
            return
        app = scope.get("app")
        oidc = getattr(app.state, "staff_oidc", None) if app is not None else None
        staff = identify(self.settings, Headers(scope=scope), oidc)
        if staff is None:
            await self.app(scope, receive, send)
            return
        status: dict[str, Any] = {}

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)
        actor = f"staff:{staff.name}"
        with acting_as(actor):
            try:
                await self.app(scope, receive, noting)
            finally:
                details = {"method": scope["method"], "path": path, "status": status.get("code"),
                           "role": staff.role}
                try:
                    await to_thread.run_sync(self.trail.record, "management.write", {}, details, actor)
                except Exception:
                    log.exception("audit: the management write %s %s could not be recorded", scope["method"], path)
