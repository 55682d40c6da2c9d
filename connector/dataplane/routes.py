"""The data plane's routes: the public data endpoint and the EDR refresh endpoint."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from connector.dataplane.responses import reply_response
from connector.services.dataflow import DataFlowService, DataRequest
from connector.services.edr_tokens import EdrError

router = APIRouter(tags=["data plane"])

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
FORWARDED = ("content-type", "content-length", "accept", "accept-encoding")
FORM = "application/x-www-form-urlencoded"


def _flows(request: Request) -> DataFlowService:
    return request.app.state.services.dataflows


def refusal(error: EdrError, *, oauth: bool = False) -> JSONResponse:
    body = ({"error": error.code, "error_description": error.reason} if oauth
            else {"error": error.code, "reason": error.reason})
    headers = {}
    if error.status == 401:  # RFC 6750: tells a consumer to refresh (or that it cannot)
        headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{error.reason[:200]}"'
    return JSONResponse(body, status_code=error.status, headers=headers)


@router.post("/api/public/token")
async def token(request: Request) -> Response:
    params = dict(request.query_params)
    if "grant_type" not in params and request.headers.get("content-type", "").startswith(FORM):
        body = await request.body()  # RFC 6749 puts them in the body; a token request is small
        if len(body) > 16_384:
            return refusal(EdrError(413, "a token request body is at most 16 KiB", code="invalid_request"), oauth=True)
        params.update(parse_qsl(body.decode("latin-1")))
    if "grant_type" not in params:
        return await data(request, "token")
    try:
        answer = await _flows(request).refresh(params.get("grant_type"), params.get("refresh_token"),
                                               request.headers.get("authorization"))
    except EdrError as exc:
        return refusal(exc, oauth=True)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.api_route("/api/public", methods=METHODS)
@router.api_route("/api/public/{path:path}", methods=METHODS)
async def data(request: Request, path: str = "") -> Response:
    headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
    incoming = DataRequest(request.method, path, request.url.query, headers, request.stream())
    try:
        reply = await _flows(request).serve(request.headers.get("authorization"), incoming)
    except EdrError as exc:
        return refusal(await without_agreement(request, exc))
    return reply_response(reply)


async def without_agreement(request: Request, error: EdrError) -> EdrError:
    """A known participant presenting its own identity token instead of an EDR has no transfer here:
    403 (Factory-X ADR 002), saying so, rather than the 401 an unknown token gets."""
    authorization = request.headers.get("authorization")
    if error.status != 401 or not authorization or "not one this connector issued" not in error.reason:
        return error
    # in dcp mode this queries the caller's Credential Service: off the event loop
    participant = await run_in_threadpool(request.app.state.services.authenticator.authenticate, authorization)
    if participant is None:
        return error
    return EdrError(403, f"{participant.id} has no started transfer under an agreement with us: negotiate a "
                         "contract and request a transfer, then use the EDR's access token", code="forbidden")
