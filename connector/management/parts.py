"""Part data for staff: ``/v3/parts/import`` and the owner's view of the Digital Twin Registry.

- ``POST /v3/parts/import[?policy=ID&accessPolicy=ID]``: a JSON array of ``{aspect, payload,
  visibleTo}``; all or nothing (``connector.parts.importer``). Errors are EDC's array, naming the
  item's index and field (``[3].payload.childItems[0].createdOn``).
- ``/v3/registry/...``: the AAS Registry v3 paths (``shell-descriptors`` CRUD with cursor paging,
  their ``submodel-descriptors``, ``lookup/shells``, ``lookup/shellsByAssetLink``, ``description``),
  with the owner's full view and the AAS ``Result`` error shape (``connector.parts.registry_api``).
"""

from __future__ import annotations

import difflib
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.management.deps import Services, read_raw
from connector.management.errors import ApiError, ManagementRoute
from connector.parts.registry import OWNER
from connector.parts.registry_api import answer

router = APIRouter(prefix="/v3", route_class=ManagementRoute, tags=["parts"])

IMPORT_QUERY = ("policy", "accessPolicy")
IMPORT_LIMIT = 64 << 20  # a file of some 50,000 parts; far above the DSP message limit on purpose


@router.post("/parts/import")
async def import_parts(request: Request, services: Services,
                       policy: Annotated[str | None, Query(description="usage policy definition id")] = None,
                       access_policy: Annotated[str | None, Query(alias="accessPolicy")] = None) -> JSONResponse:
    for name in request.query_params:  # a misspelt policy parameter must not fall back to the default
        if name not in IMPORT_QUERY:
            close = difflib.get_close_matches(name, IMPORT_QUERY, n=1, cutoff=0.5)
            raise ApiError(400, f"{name}: unknown query parameter (" + (f"closest: {close[0]}" if close else
                           f"known: {', '.join(IMPORT_QUERY)}") + ")", path=name)
    raw = await read_raw(request, IMPORT_LIMIT)
    try:
        items = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"body: not valid JSON ({exc})", path="body") from exc
    summary = await run_in_threadpool(services.parts.importer.run, items, policy=policy, access_policy=access_policy)
    return JSONResponse(summary)


@router.api_route("/registry/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
async def registry(path: str, request: Request, services: Services) -> Response:
    body = await read_raw(request, services.settings.max_body_bytes) if request.method in ("POST", "PUT") else b""
    status, doc = await run_in_threadpool(lambda: answer(services.parts.registry, OWNER, request.method, path,
                                                         request.url.query, body, writable=True,
                                                         profiles=services.parts.serving.profiles))
    return Response(status_code=status) if doc is None else JSONResponse(doc, status_code=status)
