"""The DSP TCK's consumer trigger webhooks. Test profile only: mounted only when ``settings.tck``.

    POST /tck/negotiations/requests  {"datasetId","offerId","providerId","connectorAddress"}
         → 201 {"consumerPid"}; the connector then sends an initial ContractRequestMessage
    POST /tck/transfers/requests     {"agreementId","format","providerId","connectorAddress"}
         → 201 {"consumerPid"}; the connector then sends a TransferRequestMessage under that
           agreement (one it holds as consumer: the seeded ATPC...) to connectorAddress/transfers/request

The TCK posts plain JSON (no JSON-LD). A bad body gets 400 naming the field. These routes are
unauthenticated, like the TCK's own callers expect, which is one more reason they exist only
in the test profile.
"""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.dsp.deps import Services
from connector.services.errors import ServiceError
from connector.tck.triggers import NegotiationTrigger, TransferTrigger, start_negotiation, start_transfer

log = logging.getLogger("pontis.tck")

router = APIRouter(prefix="/tck", tags=["tck"])

MAX_TRIGGER_BYTES = 16_384


def _error(status: int, code: str, message: str, path: str | None) -> JSONResponse:
    log.info("TCK trigger refused with %s (%s): %s", status, code, message)
    return JSONResponse({"code": code, "path": path, "message": message}, status_code=status)


async def _body(request: Request) -> object:
    raw = await request.body()
    if len(raw) > MAX_TRIGGER_BYTES:
        raise ServiceError("tck.body-invalid", f"$: a body of at most {MAX_TRIGGER_BYTES} bytes", path="$")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ServiceError("tck.body-invalid", f"$: a JSON object ({exc})", path="$") from exc


@router.post("/negotiations/requests")
async def negotiation_request(request: Request, services: Services) -> JSONResponse:
    try:
        trigger = NegotiationTrigger.from_json(await _body(request))
        negotiation = await run_in_threadpool(start_negotiation, services, trigger)
    except ServiceError as exc:
        return _error(exc.status, exc.code, "; ".join(exc.reasons), exc.path)
    log.info("TCK trigger: negotiating %s (offer %s) with %s at %s as %s", trigger.dataset_id,
             trigger.offer_id, trigger.provider_id, trigger.connector_address, negotiation.consumer_pid)
    return JSONResponse({"consumerPid": negotiation.consumer_pid}, status_code=201)


@router.post("/transfers/requests")
async def transfer_request(request: Request, services: Services) -> JSONResponse:
    try:
        trigger = TransferTrigger.from_json(await _body(request))
        transfer = await run_in_threadpool(start_transfer, services, trigger)
    except ServiceError as exc:
        return _error(exc.status, exc.code, "; ".join(exc.reasons), exc.path)
    log.info("TCK trigger: transfer under %s (%s) from %s at %s as %s", trigger.agreement_id, trigger.format,
             trigger.provider_id, trigger.connector_address, transfer.consumer_pid)
    return JSONResponse({"consumerPid": transfer.consumer_pid}, status_code=201)
