"""DSP 2025-1 transfer process endpoints, provider and consumer callbacks.

As for negotiations, the callback paths and the provider paths share one space: a message to
``/transfers/:pid/start`` is a start (provider) or a resume request (consumer) by the process's
own role. GET ``/transfers/:pid`` serves both roles, as the DSP TCK reads the consumer's too.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from connector.config import DSP_PATH
from connector.dsp.deps import Caller, Services
from connector.dsp.process import get_process, handle_message
from connector.protocol import Role
from connector.protocol.transfer_messages import TRANSFER_MESSAGE_TYPES, transfer_error

router = APIRouter(prefix=DSP_PATH)

PATHS = {
    "start": "TransferStartMessage",
    "completion": "TransferCompletionMessage",
    "suspension": "TransferSuspensionMessage",
    "termination": "TransferTerminationMessage",
}


@router.get("/transfers/{pid}")
async def get_transfer(pid: str, services: Services, caller: Caller) -> Response:
    return await get_process(services.transfers, caller, pid, transfer_error)


@router.post("/transfers/request")
async def transfer_request(request: Request, services: Services, caller: Caller) -> Response:
    return await handle_message(request, services, caller, services.transfers, Role.PROVIDER, None,
                                "TransferRequestMessage", TRANSFER_MESSAGE_TYPES, transfer_error)


@router.post("/transfers/{pid}/{step}")
async def transfer_step(pid: str, step: str, request: Request, services: Services, caller: Caller) -> Response:
    type_name = PATHS.get(step)
    if type_name is None:
        return Response(status_code=404)
    return await handle_message(request, services, caller, services.transfers, None, pid, type_name,
                                TRANSFER_MESSAGE_TYPES, transfer_error)
