"""EDC's error shape for the management API, and the route class that renders it.

EDC answers every failure with a JSON *array* of ``{message, type, path, invalidValue}``; clients
such as tractusx-sdk print that array as it is, so the message must make sense to a person on
its own: it names the field and what was expected. Status codes follow EDC: 400 validation,
401 unauthenticated, 404 not found, 409 conflict (a duplicate id, a state that forbids the
action), 502 counter-party failure. A 500 means a bug here; it is logged with its traceback.

FastAPI's exception handlers are app-wide, and the app belongs to everyone; so the management
routes use ``ManagementRoute``, which catches errors around its own handlers (dependencies and
request validation included) and leaves the rest of the application alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from connector.jsonld import JsonLdError, UnknownContextError
from connector.policy import PolicyError, PolicyFormatError
from connector.protocol.messages import MessageFormatError
from connector.services.criteria import CriterionError
from connector.services.errors import Conflict, NotFound, ServiceError

log = logging.getLogger("pontis.management")

TYPES = {
    400: "ValidationFailure",
    401: "AuthenticationFailed",
    404: "ObjectNotFound",
    409: "ObjectConflict",
    413: "ValidationFailure",
    500: "InternalServerError",
    502: "BadGateway",
}


def entry(message: str, status: int = 400, path: str | None = None, invalid_value: Any = None,
          type_: str | None = None) -> dict:
    return {"message": message, "type": type_ or TYPES.get(status, "InvalidRequest"), "path": path,
            "invalidValue": invalid_value}


class ApiError(Exception):
    """A refusal of the management API: an HTTP status and EDC's error entries."""

    def __init__(self, status: int, message: str, *, path: str | None = None, invalid_value: Any = None,
                 type_: str | None = None) -> None:
        self.status = status
        self.entries = [entry(message, status, path, invalid_value, type_)]
        super().__init__(message)

    def response(self) -> JSONResponse:
        return JSONResponse(self.entries, status_code=self.status)


def bad_request(path: str, expected: str, invalid_value: Any = None) -> ApiError:
    """400 naming the field (``path``) and what was expected there."""
    where = path or "body"
    return ApiError(400, f"{where}: {expected}", path=path or None, invalid_value=invalid_value)


def not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, f"{kind} with ID {object_id!r} does not exist", path="@id", invalid_value=object_id)


def translate(exc: BaseException, policy_path: str = "policy") -> ApiError | None:
    """The ApiError for a known lower-layer exception, or None for an unexpected one (a bug)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ServiceError):
        type_ = ("ObjectNotFound" if isinstance(exc, NotFound)
                 else "ObjectConflict" if isinstance(exc, Conflict) else None)
        return ApiError(exc.status, "; ".join(exc.reasons), path=exc.path, type_=type_)
    if isinstance(exc, UnknownContextError):
        return ApiError(400, f"@context: unknown JSON-LD context {exc.iri!r}; this connector never fetches "
                             "contexts and knows only its bundled ones", path="@context", invalid_value=exc.iri)
    if isinstance(exc, JsonLdError):
        return ApiError(400, f"body: not valid JSON-LD: {exc}", path="body")
    if isinstance(exc, PolicyFormatError):
        path = f"{policy_path}.{exc.path}" if exc.path else policy_path
        return ApiError(400, f"{path}: {exc.expected}", path=path)
    if isinstance(exc, PolicyError):
        return ApiError(400, f"{policy_path}: {exc}", path=policy_path)
    if isinstance(exc, CriterionError):
        return ApiError(400, f"{exc.path}: expected {exc.expected}", path=exc.path)
    if isinstance(exc, MessageFormatError):
        return ApiError(400, f"{exc.path}: {exc.expected}", path=exc.path)
    if isinstance(exc, RecursionError):
        return ApiError(400, "body: nested too deeply to be a management request", path="body")
    return None


def _validation_entries(exc: RequestValidationError) -> list[dict]:
    out = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "path", "query"))
        out.append(entry(f"{path or 'request'}: {err.get('msg', 'invalid')}", 400, path or None, err.get("input")))
    return out or [entry("the request is not valid", 400)]


class ManagementRoute(APIRoute):
    """An APIRoute whose failures come out as EDC error arrays, logged with their reason."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except HTTPException:
                raise  # FastAPI's own (none of ours raise it), rendered by the app
            except RequestValidationError as exc:
                entries = _validation_entries(exc)
                log.info("%s %s refused (400): %s", request.method, request.url.path, entries[0]["message"])
                return JSONResponse(entries, status_code=400)
            except Exception as exc:  # noqa: BLE001 - every failure gets EDC's shape
                error = translate(exc)
                if error is None:
                    log.exception("%s %s failed unexpectedly", request.method, request.url.path)
                    return JSONResponse([entry(f"internal error ({type(exc).__name__}); this is a bug, "
                                               "the connector's log has the details", 500)], status_code=500)
                level = logging.WARNING if error.status >= 500 else logging.INFO
                log.log(level, "%s %s refused (%d): %s", request.method, request.url.path, error.status,
                        error.entries[0]["message"])
                return error.response()

        return handler
