"""Logging in with the management key, logging out, and the console's own static files."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import APIRouter, Request, Response

from connector.web.render import redirect, render
from connector.web.routing import Admin, WebRoute, form_of, get_sessions, now_ms
from connector.web.security import COOKIE_PATH, LOGIN_COOKIE, SESSION_COOKIE, cookie, key_matches

router = APIRouter(route_class=WebRoute, include_in_schema=False)
STATIC = Path(__file__).parent / "static"
# the only files served under /ui/static: read once, served with their exact type
STATIC_TYPES = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
                "logo.svg": "image/svg+xml"}


def _safe_next(target: str | None) -> str:
    # only a path inside the console: never an open redirect to another site
    if target and target.startswith("/ui") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui/"


def _login_page(request: Request, status: int = 200, error: str | None = None, next_: str = "/ui/") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status=status, title="Log in", error=error, login_csrf=token,
                      next=_safe_next(next_))
    response.set_cookie(cookie(request, LOGIN_COOKIE), token, max_age=900, path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.get("/login")
async def login_page(request: Request, next: str = "/ui/") -> Response:
    return _login_page(request, next_=next)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    expected = request.cookies.get(cookie(request, LOGIN_COOKIE))
    given_csrf = form.get("csrf")
    target = _safe_next(str(form.get("next") or ""))
    if not expected or not isinstance(given_csrf, str) or not secrets.compare_digest(expected, given_csrf):
        return _login_page(request, 403, "The login form expired or came from elsewhere; please try again.", target)
    api_key = request.app.state.services.settings.api_key
    given = form.get("api_key")
    if not isinstance(given, str) or not given.strip():
        return _login_page(request, 401, "Enter the management key (api_key in the connector's config).", target)
    if not key_matches(given.strip(), api_key):
        return _login_page(request, 401, "That is not this connector's management key.", target)
    response = redirect(request, target)
    response.set_cookie(cookie(request, SESSION_COOKIE), get_sessions(request).issue(now_ms(request)), path=COOKIE_PATH,
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    response.delete_cookie(cookie(request, LOGIN_COOKIE), path=COOKIE_PATH)
    return response


@router.post("/logout")
async def logout(request: Request, session: Admin) -> Response:
    await form_of(request)
    get_sessions(request).revoke(session)
    response = redirect(request, "/ui/login")
    response.delete_cookie(cookie(request, SESSION_COOKIE), path=COOKIE_PATH)
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    kind = STATIC_TYPES.get(name)
    if kind is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response((STATIC / name).read_bytes(), media_type=kind,
                    headers={"Cache-Control": "no-cache"})
