"""The PACT HTTP edge: /auth/token, /{2,3}/footprints, /{2,3}/footprints/{id}, /{2,3}/events.

Errors are PACT's ``{"code", "message"}`` (v2 says NoSuchFootprint where v3 says NotFound); the
token endpoint answers OAuth2's ``{"error", "error_description"}``. An invalid token is a 400
BadRequest and an expired one a 401 TokenExpired, as the PACT conformance tests expect.
"""

from __future__ import annotations

import difflib
import json
import logging
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from connector.config import PactClient
from connector.pact.access import LIST_FILTERS, PAGING, BadFilter, Filters
from connector.pact.events import FORMAT, BadEvent, check_event
from connector.pact.service import PactApi
from connector.pact.tokens import (
    ClientRefused,
    TokenExpired,
    TokenRefused,
    authenticate_client,
    basic_credentials,
    issue,
    verify,
)
from connector.pcf.models import FootprintError, from_internal

log = logging.getLogger("pontis.pact")

router = APIRouter(tags=["PACT"])
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class PactError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(exc: PactError) -> JSONResponse:
    return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)


def api(request: Request) -> PactApi:
    return request.app.state.pact


def _secure(request: Request, pact: PactApi) -> None:
    if request.url.scheme != "https" and not pact.pact.allow_http:
        raise PactError(400, "BadRequest", "the PACT API is served over HTTPS only")


def caller(request: Request, pact: Annotated[PactApi, Depends(api)]) -> PactClient:
    _secure(request, pact)
    try:
        return verify(pact.settings, request.headers.get("authorization"), pact.clock() // 1000)
    except TokenExpired as exc:
        raise PactError(401, "TokenExpired", str(exc)) from None
    except TokenRefused as exc:
        raise PactError(400, "BadRequest", f"Invalid token provided: {exc}") from None


Caller = Annotated[PactClient, Depends(caller)]
Api = Annotated[PactApi, Depends(api)]


# --- OAuth2 client credentials ---------------------------------------------------------------------

def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="pact"'
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


@router.post("/auth/token")
async def token(request: Request, pact: Api) -> Response:
    _secure(request, pact)
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    grant = form.get("grant_type")
    if grant != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type" if grant else "invalid_request",
                            "grant_type must be client_credentials")
    credentials = basic_credentials(request.headers.get("authorization"))
    if credentials is None and form.get("client_id"):
        credentials = (form["client_id"], form.get("client_secret", ""))
    if credentials is None:
        return _oauth_error(401, "invalid_client", "client credentials are required (HTTP Basic)")
    try:
        client = authenticate_client(pact.settings, *credentials)
    except ClientRefused:
        log.info("PACT: token refused for client id %r", credentials[0])
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    issued = issue(pact.settings, client, pact.clock() // 1000)
    return JSONResponse({"access_token": issued.access_token, "token_type": "Bearer", "expires_in": issued.expires_in,
                         "scope": "footprint:list footprint:read"}, headers={"Cache-Control": "no-store"})


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request, pact: Api) -> dict:
    base = str(request.base_url).rstrip("/")
    return {"issuer": pact.settings.public_url, "token_endpoint": f"{base}/auth/token",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]}


# --- footprints ------------------------------------------------------------------------------------

def _check_params(request: Request, version: int) -> tuple[int, int, Filters]:
    known = (*LIST_FILTERS, *PAGING) if version == 3 else PAGING
    params = list(request.query_params.multi_items())
    for name, _ in params:
        if name == "$filter" and version == 2:
            raise PactError(400, "NotImplemented", "$filter is not supported; page through the list instead")
        if name not in known and not name.startswith("x-"):
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
            raise PactError(400, "BadRequest", f"unknown query parameter {name!r}; {hint}")
    numbers = {}
    for name, default, low in (("limit", DEFAULT_LIMIT, 1), ("offset", 0, 0)):
        raw = request.query_params.get(name)
        try:
            numbers[name] = default if raw is None else int(raw)
        except ValueError:
            raise PactError(400, "BadRequest", f"{name}: expected a whole number, got {raw!r}") from None
        if numbers[name] < low:
            raise PactError(400, "BadRequest", f"{name}: expected at least {low}, got {numbers[name]}")
    try:
        filters = Filters.from_params(params) if version == 3 else Filters()
    except BadFilter as exc:
        raise PactError(400, "BadRequest", str(exc)) from None
    return min(numbers["limit"], MAX_LIMIT), numbers["offset"], filters


def _written(rows: list[tuple[str, dict]], version: int) -> list[dict]:
    out = []
    for footprint_id, document in rows:
        try:
            out.append(from_internal(document, FORMAT[version]))
        except FootprintError as exc:
            log.warning("PACT: footprint %s cannot be written as PACT v%d, left out: %s", footprint_id, version, exc)
    return out


def list_footprints(request: Request, pact: PactApi, client: PactClient, version: int) -> Response:
    limit, offset, filters = _check_params(request, version)
    page, more = pact.view.page(client.bpn, pact.clock(), filters, offset, limit)
    headers = {}
    if more:
        following = request.url.remove_query_params(["offset", "limit"]).include_query_params(
            limit=limit, offset=offset + limit)
        headers["Link"] = f'<{following}>; rel="next"'
    return JSONResponse({"data": _written(page, version)}, headers=headers)


def get_footprint(pact: PactApi, client: PactClient, footprint_id: str, version: int) -> Response:
    ids = pact.view.visible(client.bpn, pact.clock(), footprint_id=footprint_id)
    written = _written(pact.view.documents(ids), version)
    if not written:
        code = "NotFound" if version == 3 else "NoSuchFootprint"
        raise PactError(404, code, f"Footprint with ID {footprint_id!r} does not exist")
    return JSONResponse({"data": written[0]})


@router.get("/3/footprints")
def list_v3(request: Request, pact: Api, client: Caller) -> Response:
    return list_footprints(request, pact, client, 3)


@router.get("/2/footprints")
def list_v2(request: Request, pact: Api, client: Caller) -> Response:
    return list_footprints(request, pact, client, 2)


@router.get("/3/footprints/{footprint_id}")
def get_v3(footprint_id: str, pact: Api, client: Caller) -> Response:
    return get_footprint(pact, client, footprint_id, 3)


@router.get("/2/footprints/{footprint_id}")
def get_v2(footprint_id: str, pact: Api, client: Caller) -> Response:
    return get_footprint(pact, client, footprint_id, 2)


# --- events ----------------------------------------------------------------------------------------

async def post_event(request: Request, pact: PactApi, client: PactClient, version: int) -> Response:
    try:
        event = json.loads(await request.body())
    except ValueError:
        raise PactError(400, "BadRequest", "the body is not JSON; expected a CloudEvent "
                                           "(Content-Type: application/cloudevents+json)") from None
    try:
        pact.events.accept(client, check_event(event, version), version)
    except BadEvent as exc:
        raise PactError(400, "BadRequest", str(exc)) from None
    return Response(status_code=200)


@router.post("/3/events")
async def events_v3(request: Request, pact: Api, client: Caller) -> Response:
    return await post_event(request, pact, client, 3)


@router.post("/2/events")
async def events_v2(request: Request, pact: Api, client: Caller) -> Response:
    return await post_event(request, pact, client, 2)
