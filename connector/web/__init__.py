"""The admin console at ``/ui``: server-rendered pages for the company's own admins.

It owns the browser edge only: login with the management key (a signed, HttpOnly, SameSite=Strict
session cookie), CSRF tokens on every form and fetch, a strict Content-Security-Policy (scripts
and styles from ``/ui/static`` only, no inline code), Jinja2 templates, one CSS and one small
script of our own. Pages call the same services the management API uses (``services.definitions``,
``services.policy_dry_run``, ``services.groups``, ``services.remote_catalog``, the negotiation and
transfer services) plus ``services.console`` for timelines, activity and peers' health; nothing
here imports the management edge.

Modules: ``security`` (sessions, CSRF, headers), ``routing`` (route class, dependencies),
``render`` (templates, notices), ``login``, and one module per area: ``overview``, ``assets``,
``policies`` (+ ``policy_form``, the editor's field paths), ``offers`` (contract definitions,
partner groups), ``peers``, ``partners`` (a partner's catalog), ``processes`` (negotiations,
transfers), ``agreements``, ``footprints`` (published, received, CX-0136 exchanges, import),
``provenance`` (traversal jobs and their trees).
"""

from fastapi import APIRouter

from connector.web import (
    agreements,
    assets,
    footprints,
    login,
    offers,
    overview,
    partners,
    peers,
    policies,
    processes,
    provenance,
)

router = APIRouter(prefix="/ui", include_in_schema=False)
for _module in (login, overview, assets, policies, offers, peers, partners, processes, agreements, footprints,
                provenance):
    router.include_router(_module.router)

__all__ = ["router"]
