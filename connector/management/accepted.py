"""``/v3/acceptedpolicies``: the policies this company, as consumer, is willing to agree to.

A Pontis extension modelled on IRS's accepted-policy store. ``POST`` ``{"@id", "policy"}``,
``GET`` (all), ``DELETE /{id}``. With none registered, every offer is acceptable.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.management.deps import Body, Services
from connector.management.errors import ManagementRoute
from connector.management.jsonld import child, expand_body, id_response, node_id, with_context
from connector.management.odrl import read_policy, render_stored
from connector.services.accepted import AcceptedPolicies
from connector.services.container import Container

router = APIRouter(prefix="/v3/acceptedpolicies", route_class=ManagementRoute, tags=["acceptedpolicies"])


def store(services: Container) -> AcceptedPolicies:
    return services.accepted


@router.post("")
async def add(body: Body, services: Services) -> JSONResponse:
    def work() -> dict:
        node = expand_body(body, "AcceptedPolicy", "PolicyDefinition")
        policy, _ = read_policy(child(node, "policy", required=True), "policy", ("Set", "Policy", "Offer"))
        row = store(services).add(node_id(node) or str(uuid.uuid4()), policy)
        return id_response(row.id, row.created_at)

    return JSONResponse(await run_in_threadpool(work))


@router.get("")
async def list_all(services: Services) -> JSONResponse:
    rows = await run_in_threadpool(store(services).all)
    return JSONResponse([with_context({"@id": r.id, "@type": "AcceptedPolicy", "policy": render_stored(r.policy, "Set"),
                                       "createdAt": r.created_at}) for r in rows])


@router.delete("/{policy_id}")
async def delete(policy_id: str, services: Services) -> Response:
    await run_in_threadpool(store(services).delete, policy_id)
    return Response(status_code=204)
