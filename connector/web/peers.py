"""Peers: the companies this connector talks to, whether each answers now, and adding or removing
one at run time (the same peer directory ``/management/v3/peers`` and ``connector peer`` use)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from connector.services.console import probe_peers
from connector.services.container import Container
from connector.services.errors import InvalidRequest, ServiceError
from connector.services.peers import PeerInput, resolver_for
from connector.web.render import redirect, render
from connector.web.routing import Admin, Form, Services, WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def known_peers(services: Container) -> list[Any]:
    """The peers the connector knows: ``[[peers]]`` in the config and those added at run time."""
    return services.peers.all() if services.peers is not None else list(services.settings.peers)


async def _page(request: Request, services: Container, *, form: dict, error: dict | None,
                status: int = 200) -> Response:
    peers = await run_in_threadpool(known_peers, services)
    found = await probe_peers(services.client, peers)
    sources = {p.id: getattr(p, "source", "config") for p in peers}
    return render(request, "peers.html", status=status, section="peers", title="Peers", peers=found,
                  sources=sources, form=form, error=error)


@router.get("/peers")
async def peers(request: Request, admin: Admin, services: Services) -> Response:
    return await _page(request, services, form={}, error=None)


def _peer_input(form: dict) -> PeerInput:
    fields = {k: str(form.get(k) or "").strip() for k in ("id", "dsp_url", "bpn", "token", "claims")}
    claims: Any = {}
    if fields["claims"]:
        try:
            claims = json.loads(fields["claims"])
        except ValueError as exc:
            raise InvalidRequest("Peer.claims", f"claims: not valid JSON ({exc})", path="claims") from exc
    return PeerInput(id=fields["id"], token=fields["token"] or None, dsp_url=fields["dsp_url"] or None,
                     bpn=fields["bpn"] or None, claims=claims)


@router.post("/peers")
async def add_peer(request: Request, form: Form, services: Services) -> Response:
    shown = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf", "token")}
    try:
        peer = _peer_input(form)
        resolver = resolver_for(services.settings, peer.id) if peer.dsp_url is None else None
        added = await run_in_threadpool(lambda: services.peers.add(peer, resolver=resolver))
    except ServiceError as exc:
        return await _page(request, services, form=shown, status=400,
                           error={"path": exc.path, "text": "; ".join(exc.reasons)})
    return redirect(request, "/ui/peers", f"Peer {added.id} added" + (f" (DSP at {added.dsp_url})"
                                                                      if added.dsp_url else "") + ".")


@router.post("/peers/{peer_id:path}/remove")
async def remove_peer(peer_id: str, request: Request, form: Form, services: Services) -> Response:
    await run_in_threadpool(services.peers.remove, peer_id)
    return redirect(request, "/ui/peers", f"Peer {peer_id} removed.")
