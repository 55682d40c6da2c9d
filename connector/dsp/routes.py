"""DSP 2025-1 endpoints: version metadata (unversioned) and the catalog."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from connector.config import DSP_PATH, DSP_VERSION
from connector.dsp.body import BodyError, check_context, read_json
from connector.dsp.deps import Caller, Services, caller_refusal
from connector.protocol.messages import MessageFormatError, catalog_error, check_type
from connector.services.errors import NotFound

log = logging.getLogger("pontis.dsp")

well_known_router = APIRouter()
router = APIRouter(prefix=DSP_PATH)


@well_known_router.get("/.well-known/dspace-version")
def dspace_version() -> dict:
    """Unversioned and unauthenticated, as DSP requires."""
    return {"protocolVersions": [{"version": DSP_VERSION, "path": DSP_PATH, "binding": "HTTPS"}]}


# --- catalog ---------------------------------------------------------------------------------


def unknown_caller_reasons(services: Services) -> list[str]:
    """A 401's reasons, with the fix: who must do what so that this caller is let in."""
    reasons = ["the Authorization header names no known participant"]
    if services.settings.identity.dcp:
        reasons.append("in dcp mode the caller's token must verify (its DID document, its credentials from an "
                       "issuer in [identity] trusted_issuers); this connector's log says which check failed")
    else:
        reasons.append("this connector's admin adds the caller with `connector peer add CALLER_ID --token "
                       "CALLER_TOKEN` (the caller's admin prints the token with `connector peer token`), or under "
                       "[[peers]] in its config")
    return reasons


def _catalog_refusal(status: int, code: str, reasons: list[str]) -> JSONResponse:
    log.info("catalog request refused (%s): %s", code, "; ".join(reasons))
    return JSONResponse(catalog_error(code, reasons), status_code=status)


@router.post("/catalog/request")
async def catalog_request(request: Request, services: Services, caller: Caller,
                          cursor: str | None = None, limit: int = 100) -> Response:
    if caller is None:
        return _catalog_refusal(401, "unauthorized", unknown_caller_reasons(services) + caller_refusal(request))
    try:
        _, body = await read_json(request, services.settings.max_body_bytes)
        check_context(body)
        check_type(body, "CatalogRequestMessage")
    except BodyError as exc:  # 413 for a body over max_body_bytes
        return _catalog_refusal(exc.status, "payload-too-large" if exc.status == 413 else "bad-request", [str(exc)])
    except MessageFormatError as exc:
        return _catalog_refusal(400, "bad-request", [str(exc)])
    if body.get("filter"):
        return _catalog_refusal(400, "filter-unsupported", ["filter: this catalog supports no filter; send none"])
    page, next_cursor = await run_in_threadpool(services.catalog.page, caller, cursor, limit)
    headers = {}
    if next_cursor:
        link = f"{services.settings.dsp_url}/catalog/request?cursor={quote(next_cursor)}&limit={limit}"
        headers["Link"] = f'<{link}>; rel="next"'
    return JSONResponse(page, headers=headers)


@router.get("/catalog/datasets/{dataset_id:path}")
async def catalog_dataset(request: Request, dataset_id: str, services: Services, caller: Caller) -> Response:
    if caller is None:
        return _catalog_refusal(401, "unauthorized", unknown_caller_reasons(services) + caller_refusal(request))
    try:
        return JSONResponse(await run_in_threadpool(services.catalog.dataset, caller, dataset_id))
    except NotFound as exc:
        return _catalog_refusal(404, exc.code, exc.reasons)
