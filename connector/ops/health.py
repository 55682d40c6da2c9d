"""Liveness and readiness probes, unauthenticated (they say nothing a peer could use)."""

from __future__ import annotations

from functools import cache
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["operations"])


@router.get("/health/live")
async def live() -> JSONResponse:
    return JSONResponse({"status": "live"})


@cache
def schema_head() -> str:
    """The newest migration this code ships (read once)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from connector.store.migrate import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    return str(head)


def readiness(services: Any) -> dict[str, str]:
    """Each check's outcome, "ok" or what is wrong, in the order they depend on each other."""
    from alembic.migration import MigrationContext

    checks: dict[str, str] = {}
    try:
        with services.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
        checks["database"] = "ok"
        head = schema_head()
        checks["migrations"] = "ok" if current == head else \
            f"the schema is at {current or 'no revision'}, the code needs {head}"
    except SQLAlchemyError as exc:
        checks["database"] = f"unreachable: {str(exc).splitlines()[0][:200]}"
        checks["migrations"] = "unknown (no database)"
    settings = services.settings
    if settings.identity.key_file and getattr(services, "identity", None) is None:
        checks["keys"] = f"the key file {settings.identity.key_file} is configured but not loaded"
    else:
        checks["keys"] = "ok" if settings.identity.key_file else "ok (no [identity] key_file configured)"
    return checks


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    checks = await to_thread.run_sync(readiness, request.app.state.services)
    failed = [name for name, outcome in checks.items() if not outcome.startswith("ok")]
    if failed:
        return JSONResponse({"status": "unready", "failed": failed, "checks": checks}, status_code=503)
    return JSONResponse({"status": "ready", "checks": checks})
