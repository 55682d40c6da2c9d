"""Admin-only explanations: why a policy allows or denies a participant, why an offer is hidden.

``POST /v3/policydefinitions/{id}/explain`` ``{"participantId", "scope"?, "claims"?}`` and
``POST /v3/catalog/explain`` ``{"participantId" | "counterPartyId", "assetId", "claims"?}``.
These are Pontis extensions; a requester never sees them, only the provider's own staff.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.management.deps import Body, Services
from connector.management.errors import ManagementRoute, bad_request
from connector.services.container import Container
from connector.services.policy_dry_run import Explainer

router = APIRouter(prefix="/v3", route_class=ManagementRoute, tags=["explain"])


def _field(body: Any, *names: str, required: bool = True) -> Any:
    if not isinstance(body, dict):
        raise bad_request("", "a JSON object")
    for name in names:
        for key in (name, f"https://w3id.org/edc/v0.0.1/ns/{name}", f"edc:{name}"):
            if key in body:
                return body[key]
    if required:
        raise bad_request(names[0], "is required")
    return None


def _claims(body: Any) -> dict | None:
    claims = _field(body, "claims", required=False)
    if claims is not None and not isinstance(claims, dict):
        raise bad_request("claims", "an object of claims, e.g. {\"bpn\": \"BPNL...\", \"membership\": true}")
    if claims is not None and claims.get("bpn") is not None and not isinstance(claims["bpn"], str):
        # the BPN keys the business-partner-group lookup: anything but a string broke the query (a 500)
        raise bad_request("claims.bpn", "the requester's BPNL, a string such as \"BPNL000000000002\"")
    return claims


def explainer(services: Container) -> Explainer:
    return services.policy_dry_run


@router.post("/policydefinitions/{policy_id}/explain")
async def explain_policy(policy_id: str, body: Body, services: Services) -> JSONResponse:
    participant = _field(body, "participantId", "counterPartyId")
    scope = _field(body, "scope", "policyScope", required=False)
    result = await run_in_threadpool(explainer(services).policy, policy_id, participant, scope, _claims(body))
    return JSONResponse(result)


@router.post("/catalog/explain")
async def explain_offer(body: Body, services: Services) -> JSONResponse:
    participant = _field(body, "participantId", "counterPartyId")
    asset = _field(body, "assetId")
    return JSONResponse(await run_in_threadpool(explainer(services).offer, asset, participant, _claims(body)))
