"""DSP 2025-1 contract negotiation endpoints, provider and consumer callbacks.

Our callbackAddress is our own DSP base, so the consumer callbacks and the provider endpoints
share one path space; where a path serves both (``/events``, ``/termination``), the process's
own role decides.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from connector.config import DSP_PATH
from connector.dsp.deps import Caller, Services
from connector.dsp.process import get_process, handle_message
from connector.protocol import Role
from connector.protocol.messages import NEGOTIATION_MESSAGE_TYPES, negotiation_error

router = APIRouter(prefix=DSP_PATH)


async def _handle(request: Request, services, caller, role, pid, type_name) -> Response:
    return await handle_message(request, services, caller, services.negotiations, role, pid, type_name,
                                NEGOTIATION_MESSAGE_TYPES, negotiation_error)


@router.get("/negotiations/{pid}")
async def get_negotiation(pid: str, services: Services, caller: Caller) -> Response:
    return await get_process(services.negotiations, caller, pid, negotiation_error)


@router.post("/negotiations/request")
async def negotiation_request(request: Request, services: Services, caller: Caller) -> Response:
    return await _handle(request, services, caller, Role.PROVIDER, None, "ContractRequestMessage")


@router.post("/negotiations/offers")
async def negotiation_offer_initial(request: Request, services: Services, caller: Caller) -> Response:
    return await _handle(request, services, caller, Role.CONSUMER, None, "ContractOfferMessage")


@router.post("/negotiations/{pid}/request")
async def negotiation_counter_request(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _handle(request, services, caller, Role.PROVIDER, pid, "ContractRequestMessage")


@router.post("/negotiations/{pid}/offers")
async def negotiation_offer(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _handle(request, services, caller, Role.CONSUMER, pid, "ContractOfferMessage")


@router.post("/negotiations/{pid}/agreement")
async def negotiation_agreement(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _handle(request, services, caller, Role.CONSUMER, pid, "ContractAgreementMessage")


@router.post("/negotiations/{pid}/agreement/verification")
async def negotiation_verification(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _handle(request, services, caller, Role.PROVIDER, pid, "ContractAgreementVerificationMessage")


@router.post("/negotiations/{pid}/events")
async def negotiation_event(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _handle(request, services, caller, None, pid, "ContractNegotiationEventMessage")


@router.post("/negotiations/{pid}/termination")
async def negotiation_termination(pid: str, request: Request, services: Services, caller: Caller) -> Response:
    return await _handle(request, services, caller, None, pid, "ContractNegotiationTerminationMessage")
