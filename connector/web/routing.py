"""The console's route class and dependencies: who is logged in, CSRF on every write, the headers.

``WebRoute`` wraps every console handler: a request without a valid session is sent to the login
page (a fetch gets 401 JSON), a write without the CSRF token is refused with 403, a service's
refusal becomes a page that says why (never a 500), and every answer carries ``HEADERS`` (the
Content-Security-Policy among them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute

from connector.services.container import Container
from connector.services.definitions import DefinitionService
from connector.services.errors import InvalidRequest, ServiceError
from connector.web.security import HEADERS, SESSION_COOKIE, Session, Sessions, cookie

log = logging.getLogger("pontis.web")


class LoginRequired(Exception):
    pass


class CsrfRefused(Exception):
    pass


def is_fetch(request: Request) -> bool:
    return request.url.path.startswith("/ui/api/")


class WebRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                if is_fetch(request):
                    response = JSONResponse({"error": "not logged in: open /ui/login"}, status_code=401)
                else:
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    response = RedirectResponse("/ui/login?next=" + quote(target, safe="/"), status_code=303)
            except CsrfRefused:
                log.warning("console: %s %s refused: missing or wrong CSRF token", request.method, request.url.path)
                response = JSONResponse({"error": "the form's CSRF token is missing or wrong; reload the page"},
                                        status_code=403) if is_fetch(request) else \
                    _error_page(request, 403, "Refused", ["The form's CSRF token is missing or wrong. "
                                                          "Reload the page and try again."])
            except ServiceError as exc:
                response = JSONResponse({"error": "; ".join(exc.reasons), "path": exc.path}, status_code=exc.status) \
                    if is_fetch(request) else _error_page(request, exc.status, "Not possible", exc.reasons)
            for name, value in HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return route


def _error_page(request: Request, status: int, title: str, reasons: list[str]) -> Response:
    from connector.web.render import render

    return render(request, "error.html", status=status, title=title, reasons=reasons)


def get_services(request: Request) -> Container:
    return request.app.state.services


def get_sessions(request: Request) -> Sessions:
    state = request.app.state
    sessions = getattr(state, "ui_sessions", None)
    if sessions is None:
        sessions = state.ui_sessions = Sessions(state.services.settings.api_key)
    return sessions


def now_ms(request: Request) -> int:
    # the same clock the services use, so tests that move it move the sessions too
    return request.app.state.services.negotiations.clock()


def current_session(request: Request) -> Session | None:
    return get_sessions(request).check(request.cookies.get(cookie(request, SESSION_COOKIE)), now_ms(request))


def require_session(request: Request) -> Session:
    session = current_session(request)
    if session is None:
        raise LoginRequired()
    request.state.session = session
    return session


async def form_of(request: Request) -> dict[str, Any]:
    """The submitted form, after its CSRF token has been checked."""
    session = require_session(request)
    form = await request.form()
    given = request.headers.get("x-csrf-token") or form.get("csrf")
    if not isinstance(given, str) or not get_sessions(request).csrf_ok(session, given):
        raise CsrfRefused()
    return dict(form)


async def checked_json(request: Request) -> Any:
    """A fetch's JSON body, after its X-CSRF-Token header has been checked."""
    session = require_session(request)
    if not get_sessions(request).csrf_ok(session, request.headers.get("x-csrf-token")):
        raise CsrfRefused()
    try:
        return await request.json()
    except ValueError as exc:
        raise InvalidRequest("body", f"the body is not JSON: {exc}", path="body") from exc


Services = Annotated[Container, Depends(get_services)]
Admin = Annotated[Session, Depends(require_session)]
Form = Annotated[dict, Depends(form_of)]
Json = Annotated[Any, Depends(checked_json)]


def definitions(services: Container) -> DefinitionService:
    """What we publish (assets, policies, contract definitions): the service the management API uses."""
    return services.definitions


def queries(services: Container) -> Any:
    from connector.services.console import ConsoleQueries

    return ConsoleQueries(services.db)
