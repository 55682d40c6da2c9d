"""The HTTP edge of our Credential Service (DCP v1.0): ``POST /api/dcp/presentations/query``.

The logic is :class:`connector.identity.credential_service.CredentialService` (the container's
``credential_service``); a refusal answers its status with ``{"code", "reason"}`` and is logged.
Without a DID and keys there is no Credential Service and the route answers 404.
"""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from .credential_service import QueryRefused
from .dcp_messages import CREDENTIAL_SERVICE_PATH, QUERY_PATH

log = logging.getLogger("pontis.identity")
MAX_QUERY_BYTES = 64 * 1024  # a query is a few scopes or one presentation definition

router = APIRouter(prefix=CREDENTIAL_SERVICE_PATH, tags=["dcp"])


def _refusal(status: int, code: str, reason: str) -> JSONResponse:
    log.warning("presentation query refused with %s (%s): %s", status, code, reason)
    return JSONResponse({"code": code, "reason": reason}, status_code=status)


@router.post(QUERY_PATH, include_in_schema=False)
async def presentation_query(request: Request) -> Response:
    service = getattr(request.app.state.services, "credential_service", None)
    if service is None:
        return _refusal(404, "not_found", "this connector has no Credential Service (no DID and key file)")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > MAX_QUERY_BYTES:
            return _refusal(413, "too_large", f"a presentation query of at most {MAX_QUERY_BYTES} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return _refusal(400, "bad_request", f"the body must be a JSON PresentationQueryMessage ({exc})")
    try:
        answer = await run_in_threadpool(service.answer, request.headers.get("authorization"), body)
    except QueryRefused as exc:
        return _refusal(exc.status, exc.code, exc.reason)
    return JSONResponse(answer)
