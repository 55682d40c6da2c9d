"""The overview: who we are, our credentials and their expiry, our peers and whether they answer,
and what happened lately."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from connector.services.console import credentials, probe_peers
from connector.web.peers import known_peers
from connector.web.render import render
from connector.web.routing import Admin, Services, WebRoute, now_ms, queries

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/")
async def overview(request: Request, admin: Admin, services: Services) -> Response:
    q = queries(services)
    counts = await run_in_threadpool(q.counts)
    recent = await run_in_threadpool(q.recent, 10)
    peers = await probe_peers(services.client, await run_in_threadpool(known_peers, services))
    identity = services.identity
    return render(request, "overview.html", section="overview", title="Overview", counts=counts, recent=recent,
                  peers=peers, credentials=credentials(identity, now_ms(request)),
                  did=identity.did if identity is not None else services.settings.participant_id,
                  signing=identity is not None, auth_mode=services.settings.identity.auth_mode)
