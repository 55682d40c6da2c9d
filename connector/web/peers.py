"""Peers: the companies this connector talks to, and whether each answers now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from connector.services.console import probe_peers
from connector.services.container import Container
from connector.web.render import render
from connector.web.routing import Admin, Services, WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def known_peers(services: Container) -> list[Any]:
    """The peers the connector knows: ``[[peers]]`` in the config."""
    return list(services.settings.peers)


@router.get("/peers")
async def peers(request: Request, admin: Admin, services: Services) -> Response:
    from starlette.concurrency import run_in_threadpool

    found = await probe_peers(services.client, await run_in_threadpool(known_peers, services))
    return render(request, "peers.html", section="peers", title="Peers", peers=found)
