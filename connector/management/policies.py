"""``/v3/policydefinitions``: named policies that contract definitions use as access or usage policy.

A body is ``{"@id", "policy": {"@type": "Set", "permission": ...}}`` in any of the dialects
``odrl.read_policy`` accepts; a malformed policy is refused with the path of the bad field and
nothing is stored. The policy is kept in the compact DSP form, ready for the catalog.

Updates go to ``PUT /{id}`` (EDC) or to ``PUT`` on the collection with the id in the body
(what tractusx-sdk sends).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.management.deps import Body, Definitions
from connector.management.errors import ManagementRoute, bad_request
from connector.management.jsonld import (
    child,
    expand_body,
    id_response,
    node_id,
    properties,
    read_query_spec,
    render_properties,
    string,
    with_context,
)
from connector.management.odrl import read_policy, render_stored
from connector.policy import Policy, evaluation_plan, infer_kind, policy_from_compact_dsp, validate
from connector.store.models import PolicyDefinition

router = APIRouter(prefix="/v3/policydefinitions", route_class=ManagementRoute, tags=["policydefinitions"])

SCOPES = ("catalog", "contract.negotiation", "transfer.process")


def read_definition(body: Any, *, update: bool, path_id: str | None = None) -> tuple[str, Policy, dict]:
    node = expand_body(body, "PolicyDefinition", "PolicyDefinitionDto")
    body_id = node_id(node)
    if path_id is not None and body_id is not None and body_id != path_id:
        raise bad_request("@id", f"the body names {body_id!r} but the path names {path_id!r}", body_id)
    policy_id = path_id or body_id
    if policy_id is None:
        if update:
            raise bad_request("@id", "is required: which policy definition to update")
        policy_id = str(uuid.uuid4())  # as EDC does on create
    policy, _ = read_policy(child(node, "policy", required=True), "policy", ("Set", "Policy"))
    return policy_id, policy, properties(node, "privateProperties")


def render_definition(row: PolicyDefinition) -> dict:
    return with_context({
        "@id": row.id,
        "@type": "PolicyDefinition",
        "policy": render_stored(row.policy, "Set"),
        "privateProperties": render_properties(row.private_properties),
        "createdAt": row.created_at,
    })


@router.post("")
async def create_policy(body: Body, definitions: Definitions) -> JSONResponse:
    def work() -> dict:
        row = definitions.create_policy(*read_definition(body, update=False))
        return id_response(row.id, row.created_at)

    return JSONResponse(await run_in_threadpool(work))


@router.put("")
async def update_policy_in_body(body: Body, definitions: Definitions) -> Response:
    await run_in_threadpool(lambda: definitions.update_policy(*read_definition(body, update=True)))
    return Response(status_code=204)


@router.post("/request")
async def query_policies(body: Body, definitions: Definitions) -> JSONResponse:
    def work() -> list:
        return [render_definition(p) for p in definitions.policies(read_query_spec(body))]

    return JSONResponse(await run_in_threadpool(work))


@router.get("/{policy_id}")
async def get_policy(policy_id: str, definitions: Definitions) -> JSONResponse:
    return JSONResponse(render_definition(await run_in_threadpool(definitions.policy, policy_id)))


@router.put("/{policy_id}")
async def update_policy(policy_id: str, body: Body, definitions: Definitions) -> Response:
    await run_in_threadpool(lambda: definitions.update_policy(*read_definition(body, update=True, path_id=policy_id)))
    return Response(status_code=204)


@router.delete("/{policy_id}")
async def delete_policy(policy_id: str, definitions: Definitions) -> Response:
    await run_in_threadpool(definitions.delete_policy, policy_id)
    return Response(status_code=204)


@router.post("/{policy_id}/validate")
async def validate_policy(policy_id: str, definitions: Definitions) -> JSONResponse:
    """The stored policy against the Catena-X profile (as an access or a usage policy, by its actions)."""
    def work() -> dict:
        policy = policy_from_compact_dsp(definitions.policy(policy_id).policy)
        violations = validate(policy)
        return with_context({
            "@type": "PolicyValidationResult", "isValid": not violations, "kind": infer_kind(policy),
            "errors": [str(v) for v in violations], "violations": [v.to_dict() for v in violations],
        })

    return JSONResponse(await run_in_threadpool(work))


@router.post("/{policy_id}/evaluationplan")
async def evaluation_plan_of(policy_id: str, body: Body, definitions: Definitions) -> JSONResponse:
    """Each rule and constraint the policy engine checks, how, and in which scopes."""
    def work() -> dict:
        node = expand_body(body, "PolicyEvaluationPlanRequest", required=False)
        scope = string(node, "policyScope")
        if scope is not None and scope not in SCOPES:
            raise bad_request("policyScope", f"expected one of {', '.join(SCOPES)}", scope)
        plan = evaluation_plan(policy_from_compact_dsp(definitions.policy(policy_id).policy))
        out = {"@type": "PolicyEvaluationPlan", "policyScope": scope, **plan}
        if scope is not None:
            out["checkedInScope"] = plan["checkedIn"].get(scope, [])
        return with_context(out)

    return JSONResponse(await run_in_threadpool(work))
