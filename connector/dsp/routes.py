"""DSP 2025-1 endpoints: version metadata, catalog, and contract negotiation in both roles.

Our callbackAddress is our own DSP base, so the consumer callbacks and the provider endpoints
share one path space; where a path serves both (``/events``, ``/termination``), the process's
own role decides.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from connector.config import DSP_PATH, DSP_VERSION
from connector.dsp.body import BodyError, check_context, read_json
from connector.dsp.deps import Caller, Services
from connector.identity import Participant
from connector.protocol import RemoteProtocolError, Role
from connector.protocol.messages import (
    NEGOTIATION_MESSAGE_TYPES,
    MessageFormatError,
    catalog_error,
    check_type,
    negotiation_error,
)
from connector.services.errors import NotFound, ServiceError
from connector.services.negotiation import message_digest

log = logging.getLogger("pontis.dsp")

well_known_router = APIRouter()
router = APIRouter(prefix=DSP_PATH)


@well_known_router.get("/.well-known/dspace-version")
def dspace_version() -> dict:
    """Unversioned and unauthenticated, as DSP requires."""
    return {"protocolVersions": [{"version": DSP_VERSION, "path": DSP_PATH, "binding": "HTTPS"}]}


# --- catalog ---------------------------------------------------------------------------------


def _catalog_refusal(status: int, code: str, reasons: list[str]) -> JSONResponse:
    log.info("catalog request refused (%s): %s", code, "; ".join(reasons))
    return JSONResponse(catalog_error(code, reasons), status_code=status)


@router.post("/catalog/request")
async def catalog_request(request: Request, services: Services, caller: Caller,
                          cursor: str | None = None, limit: int = 100) -> Response:
    if caller is None:
        return _catalog_refusal(401, "unauthorized", ["the Authorization header names no known participant"])
    try:
        _, body = await read_json(request, services.settings.max_body_bytes)
        check_context(body)
        check_type(body, "CatalogRequestMessage")
    except (BodyError, MessageFormatError) as exc:
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
async def catalog_dataset(dataset_id: str, services: Services, caller: Caller) -> Response:
    if caller is None:
        return _catalog_refusal(401, "unauthorized", ["the Authorization header names no known participant"])
    try:
        return JSONResponse(await run_in_threadpool(services.catalog.dataset, caller, dataset_id))
    except NotFound as exc:
        return _catalog_refusal(404, exc.code, exc.reasons)


# --- negotiations ----------------------------------------------------------------------------


def _refuse(status: int, code: str, reasons: list[str], body: Any, pid: str | None) -> JSONResponse:
    provider_pid = consumer_pid = pid or ""
    if isinstance(body, dict):
        provider_pid = str(body.get("providerPid") or provider_pid)
        consumer_pid = str(body.get("consumerPid") or consumer_pid)
    log.info("DSP message refused with %s (%s): %s", status, code, "; ".join(reasons))
    return JSONResponse(negotiation_error(provider_pid, consumer_pid, code, reasons), status_code=status)


async def _negotiation(request: Request, services: Any, caller: Participant | None,
                       role: Role | None, pid: str | None, type_name: str) -> Response:
    body: Any = None
    if caller is None:  # DSP: an unauthorized caller learns nothing, not even that it is unauthorized
        return _refuse(404, "not-found", ["no such negotiation"], None, pid)
    try:
        raw, body = await read_json(request, services.settings.max_body_bytes)
        check_context(body)
        message = NEGOTIATION_MESSAGE_TYPES[type_name].from_json(body)
        if pid is None and getattr(message, "callback_address", None) is None:
            raise MessageFormatError("callbackAddress", "is required on an initial message")
        if pid is not None and type_name in ("ContractRequestMessage", "ContractOfferMessage") and \
                getattr(message, "callback_address", None) is not None:
            raise MessageFormatError("callbackAddress", "belongs on the initial message only; send the process ids")
        digest = message_digest(caller.id, request.url.path, raw)
        answer = await run_in_threadpool(services.negotiations.handle, caller, role, pid, message, digest)
    except (BodyError, MessageFormatError) as exc:
        return _refuse(400, "bad-request", [str(exc)], body, pid)
    except RemoteProtocolError as exc:
        return _refuse(400, "invalid-transition", [exc.detail], body, pid)
    except ServiceError as exc:
        return _refuse(exc.status, exc.code, exc.reasons, body, pid)
    return JSONResponse(answer.body, status_code=answer.status)


@router.get("/negotiations/{pid}")
async def get_negotiation(pid: str, services: Services, caller: Caller) -> Response:
    if caller is None:
        return _refuse(404, "not-found", ["no such negotiation"], None, pid)
    try:
        return JSONResponse(await run_in_threadpool(services.negotiations.get_for, caller, pid))
    except NotFound as exc:
        return _refuse(404, exc.code, exc.reasons, None, pid)


@router.post("/negotiations/request")
async def negotiation_request(request: Request, services: Services, caller: Caller) -> Response:
    return await _negotiation(request, services, caller, Role.PROVIDER, None, "ContractRequestMessage")


@router.post("/negotiations/offers")
async def negotiation_offer_initial(request: Request, services: Services, caller: Caller) -> Response:
    return await _negotiation(request, services, caller, Role.CONSUMER, None, "ContractOfferMessage")


@router.post("/negotiations/{pid}/request")
async def negotiation_counter_request(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _negotiation(request, services, caller, Role.PROVIDER, pid, "ContractRequestMessage")


@router.post("/negotiations/{pid}/offers")
async def negotiation_offer(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _negotiation(request, services, caller, Role.CONSUMER, pid, "ContractOfferMessage")


@router.post("/negotiations/{pid}/agreement")
async def negotiation_agreement(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _negotiation(request, services, caller, Role.CONSUMER, pid, "ContractAgreementMessage")


@router.post("/negotiations/{pid}/agreement/verification")
async def negotiation_verification(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _negotiation(request, services, caller, Role.PROVIDER, pid, "ContractAgreementVerificationMessage")


@router.post("/negotiations/{pid}/events")
async def negotiation_event(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _negotiation(request, services, caller, None, pid, "ContractNegotiationEventMessage")


@router.post("/negotiations/{pid}/termination")
async def negotiation_termination(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _negotiation(request, services, caller, None, pid, "ContractNegotiationTerminationMessage")
