"""``/v3/business-partner-groups``: which groups a BPN belongs to (Tractus-X's API shape).

Body ``{"@id": "BPNL...", "tx:groups": ["gold", ...]}``; the groups feed BusinessPartnerGroup
constraints in access and usage policies.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.management.deps import Body, Services
from connector.management.errors import ManagementRoute, bad_request
from connector.services.container import Container
from connector.services.groups import GroupService

router = APIRouter(prefix="/v3/business-partner-groups", route_class=ManagementRoute, tags=["groups"])
TX = "https://w3id.org/tractusx/v0.0.1/ns/"
CONTEXT = {"tx": TX}


def _read(body: Any) -> tuple[str, list[str]]:
    if not isinstance(body, dict):
        raise bad_request("", "a JSON object {\"@id\": BPN, \"tx:groups\": [...]}")
    bpn = body.get("@id")
    groups = next((body[k] for k in ("tx:groups", TX + "groups", "groups") if k in body), None)
    if not isinstance(bpn, str):
        raise bad_request("@id", "the Business Partner Number, e.g. BPNL00000003AYRE")
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list):
        raise bad_request("tx:groups", "a list of group names")
    return bpn, groups


def groups(services: Container) -> GroupService:
    return services.groups


@router.post("")
async def create(body: Body, services: Services) -> Response:
    bpn, names = _read(body)
    await run_in_threadpool(lambda: groups(services).put(bpn, names, create=True))
    return Response(status_code=204)


@router.put("")
async def update(body: Body, services: Services) -> Response:
    bpn, names = _read(body)
    await run_in_threadpool(lambda: groups(services).put(bpn, names, create=False))
    return Response(status_code=204)


@router.get("/group/{group}")
async def members(group: str, services: Services) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(groups(services).members, group))


@router.get("/{bpn}")
async def get(bpn: str, services: Services) -> JSONResponse:
    names = await run_in_threadpool(groups(services).get, bpn)
    return JSONResponse({"@context": CONTEXT, "@id": bpn, "tx:groups": names})


@router.delete("/{bpn}")
async def delete(bpn: str, services: Services) -> Response:
    await run_in_threadpool(groups(services).delete, bpn)
    return Response(status_code=204)
