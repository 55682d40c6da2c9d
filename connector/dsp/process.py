"""Handling one DSP process message at the edge: read, check, resolve the caller, answer.

Shared by the negotiation and transfer endpoints; each passes its message types and its
error shape (ContractNegotiationError or TransferError).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from connector.dsp.body import BodyError, check_context, read_json
from connector.dsp.deps import caller_refusal
from connector.identity import Participant
from connector.protocol import RemoteProtocolError, Role
from connector.protocol.messages import MessageFormatError
from connector.services.errors import NotFound, ServiceError
from connector.services.process import ProcessService, message_digest
from connector.services.ssrf import SsrfRefused

log = logging.getLogger("pontis.dsp")

ErrorShape = Callable[[str, str, str, list[str]], dict[str, Any]]


def refuse(shape: ErrorShape, status: int, code: str, reasons: list[str], body: Any, pid: str | None) -> JSONResponse:
    provider_pid = consumer_pid = pid or ""
    if isinstance(body, dict):
        provider_pid = str(body.get("providerPid") or provider_pid)
        consumer_pid = str(body.get("consumerPid") or consumer_pid)
    log.info("DSP message refused with %s (%s): %s", status, code, "; ".join(reasons))
    return JSONResponse(shape(provider_pid, consumer_pid, code, reasons), status_code=status)


async def handle_message(request: Request, services: Any, caller: Participant | None, service: ProcessService,
                         role: Role | None, pid: str | None, type_name: str, types: dict[str, Any],
                         shape: ErrorShape, initial_has_callback: bool = True) -> Response:
    body: Any = None
    if caller is None:  # DSP: an unauthorized caller learns nothing about our processes; DCP says why
        return refuse(shape, 404, "not-found", ["no such process", *caller_refusal(request)], None, pid)
    try:
        raw, body = await read_json(request, services.settings.max_body_bytes)
        check_context(body)
        message = types[type_name].from_json(body)
        callback = getattr(message, "callback_address", None)
        if pid is None and initial_has_callback and callback is None:
            raise MessageFormatError("callbackAddress", "is required on an initial message")
        if pid is not None and callback is not None and type_name in ("ContractRequestMessage", "ContractOfferMessage"):
            raise MessageFormatError("callbackAddress", "belongs on the initial message only; send the process ids")
        digest = message_digest(caller.id, request.url.path, raw)

        def check_and_handle() -> Any:  # one thread hop for both: each hop costs CPU on every message
            if callback is not None:  # we will post there, with our token: it must be the caller's own server
                services.guard.check_callback(caller.id, callback)
            return service.handle(caller, role, pid, message, digest)

        answer = await run_in_threadpool(check_and_handle)
    except BodyError as exc:  # 413 for a body over max_body_bytes
        return refuse(shape, exc.status, "payload-too-large" if exc.status == 413 else "bad-request", [str(exc)],
                      body, pid)
    except MessageFormatError as exc:
        return refuse(shape, 400, "bad-request", [str(exc)], body, pid)
    except SsrfRefused as exc:
        return refuse(shape, 400, "callback-refused", [f"callbackAddress {exc.url}: {exc.reason}"], body, pid)
    except RemoteProtocolError as exc:
        return refuse(shape, 400, "invalid-transition", [exc.detail], body, pid)
    except ServiceError as exc:
        return refuse(shape, exc.status, exc.code, exc.reasons, body, pid)
    return JSONResponse(answer.body, status_code=answer.status)


async def get_process(service: ProcessService, caller: Participant | None, pid: str, shape: ErrorShape) -> Response:
    if caller is None:
        return refuse(shape, 404, "not-found", ["no such process"], None, pid)
    try:
        return JSONResponse(await run_in_threadpool(service.get_for, caller, pid))
    except NotFound as exc:
        return refuse(shape, 404, exc.code, exc.reasons, None, pid)
