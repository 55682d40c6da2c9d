"""Rendering console pages: one Jinja2 environment (autoescaped), the page frame, flash notices."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from connector.web.security import COOKIE_PATH, _mac, cookie

TEMPLATES = Path(__file__).parent / "templates"
FLASH_COOKIE = "pontis_flash"

NAV = (
    ("overview", "/ui/", "Overview"),
    ("assets", "/ui/assets", "Assets"),
    ("policies", "/ui/policies", "Policies"),
    ("contracts", "/ui/contracts", "Contract definitions"),
    ("groups", "/ui/groups", "Partner groups"),
    ("peers", "/ui/peers", "Peers"),
    ("partners", "/ui/partners", "Partner catalogs"),
    ("negotiations", "/ui/negotiations", "Negotiations"),
    ("transfers", "/ui/transfers", "Transfers"),
    ("agreements", "/ui/agreements", "Agreements"),
    ("footprints", "/ui/footprints", "Footprints"),
    ("provenance", "/ui/provenance", "Provenance"),
)


def when(ms: int | None) -> str:
    """Epoch milliseconds as UTC, to the second."""
    if not ms:
        return "—"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


STATE_TONES = {
    "FINALIZED": "ok", "COMPLETED": "ok", "STARTED": "ok", "VERIFIED": "info", "AGREED": "info",
    "TERMINATED": "bad", "SUSPENDED": "warn", "REQUESTED": "info", "REQUESTING": "info", "INITIAL": "info",
    "OFFERED": "info", "ACCEPTED": "info",
}


def tone(state: str | None) -> str:
    return STATE_TONES.get(state or "", "info")


environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                          trim_blocks=True, lstrip_blocks=True)
environment.filters.update(when=when, pretty=pretty, tone=tone)


def _flash_mac(request: Request, payload: str) -> str:
    return _mac(request.app.state.services.settings.api_key, "flash:" + payload)[:32]


def flash(response: Response, request: Request, text: str, kind: str = "ok") -> Response:
    """A notice shown once, on the next page (post, redirect, get)."""
    payload = base64.urlsafe_b64encode(json.dumps([kind, text]).encode()).decode()
    response.set_cookie(cookie(request, FLASH_COOKIE), f"{payload}.{_flash_mac(request, payload)}", max_age=60, path=COOKIE_PATH,
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def _take_flash(request: Request) -> dict | None:
    raw = request.cookies.get(cookie(request, FLASH_COOKIE))
    if not raw or "." not in raw:
        return None
    payload, mac = raw.rsplit(".", 1)
    if mac != _flash_mac(request, payload):
        return None
    try:
        kind, text = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        return None
    return {"kind": kind, "text": text}


def redirect(request: Request, to: str, notice: str | None = None, kind: str = "ok") -> Response:
    response = RedirectResponse(to, status_code=303)
    return flash(response, request, notice, kind) if notice else response


def render(request: Request, page: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    from connector.web.routing import get_sessions

    services = request.app.state.services
    session = getattr(request.state, "session", None)
    notice = _take_flash(request)
    body = environment.get_template(page).render(
        nav=NAV, section=context.pop("section", ""), settings=services.settings,
        csrf=get_sessions(request).csrf(session) if session is not None else "",
        logged_in=session is not None, notice=notice, **context)
    response = HTMLResponse(body, status_code=status)
    if notice is not None:
        response.delete_cookie(cookie(request, FLASH_COOKIE), path=COOKIE_PATH)
    return response
