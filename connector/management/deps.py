"""FastAPI dependencies of the management edge: the API key, the services, the JSON body."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from connector.management.errors import ApiError
from connector.management.staff import Staff, identify, refusal
from connector.services.container import Container
from connector.services.definitions import DefinitionService
from connector.services.queries import QueryService
from connector.services.remote_catalog import RemoteCatalog

# The dependencies that only look something up are ``async def``: FastAPI runs a plain ``def``
# dependency in the thread pool, a thread hop per request for nothing that blocks.


async def get_services(request: Request) -> Container:
    return _services(request)


def _services(request: Request) -> Container:
    return request.app.state.services


async def require_api_key(request: Request) -> None:
    """Every management call carries a staff key in ``X-Api-Key`` (EDC's scheme) or, with
    ``[management.oidc]``, a bearer token; the caller's role must allow the call (``staff``).
    Checked in a thread only with ``[management.oidc]`` (a key fetch may block); the keys alone
    are constant-time compares of SHA-256 digests, done here."""
    if getattr(request.app.state, "staff_oidc", None) is not None:
        await run_in_threadpool(_require_api_key, request)
    else:
        _require_api_key(request)


def _require_api_key(request: Request) -> None:
    staff = check_api_key(request)
    refused = refusal(staff, request.method, request.url.path)
    if refused is not None:
        raise ApiError(403, f"Forbidden: {refused}", path="X-Api-Key")


def check_api_key(request: Request) -> Staff:
    """``require_api_key``'s check, for callers that are not dependencies; ApiError 401 if it fails."""
    services: Container = request.app.state.services
    staff = identify(services.settings, request.headers, getattr(request.app.state, "staff_oidc", None))
    if staff is None:
        given = request.headers.get("x-api-key") or request.headers.get("authorization")
        reason = "is missing" if not given else "is not a configured key"
        raise ApiError(401, f"Request could not be authenticated: the X-Api-Key header {reason}",
                       path="X-Api-Key")
    return staff


async def get_definitions(request: Request) -> DefinitionService:
    return _services(request).definitions


async def get_queries(request: Request) -> QueryService:
    return _services(request).queries


async def get_remote_catalog(request: Request) -> RemoteCatalog:
    return _services(request).remote_catalog


async def read_raw(request: Request, limit: int) -> bytes:
    """The body's bytes, refused (413) beyond ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the body declares {declared} bytes; at most {limit} are accepted")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > limit:
            raise ApiError(413, f"the body exceeds {limit} bytes")
    return bytes(raw)


def _not_json(constant: str) -> Any:
    """Python's json reads NaN and Infinity, which JSON has not (and no answer could echo back)."""
    raise ValueError(f"{constant} is not a JSON number")


async def read_body(request: Request) -> Any:
    """The parsed JSON body, or None when there is none (QuerySpec and terminate bodies are optional).

    The content type is not checked: EDC answers 415 without ``application/json``, which only
    ever trips up clients, so any body that parses as JSON is read.
    """
    raw = await read_raw(request, request.app.state.services.settings.max_body_bytes)
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, f"body: not valid JSON ({type(exc).__name__}: {exc})", path="body") from exc


Services = Annotated[Container, Depends(get_services)]
Definitions = Annotated[DefinitionService, Depends(get_definitions)]
Queries = Annotated[QueryService, Depends(get_queries)]
Remote = Annotated[RemoteCatalog, Depends(get_remote_catalog)]
Body = Annotated[Any, Depends(read_body)]
