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

from connector.management.deps import Body, Definitions, Services
from connector.management.errors import ManagementRoute, bad_request, entry
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
from connector.management.odrl import normalize, read_policy, render_stored
from connector.policy import Policy, Violation, evaluation_plan, infer_kind, policy_from_compact_dsp, validate
from connector.policy.written import LENIENT_CODES, written_violations
from connector.store.models import PolicyDefinition

router = APIRouter(prefix="/v3/policydefinitions", route_class=ManagementRoute, tags=["policydefinitions"])

SCOPES = ("catalog", "contract.negotiation", "transfer.process")


def read_definition(body: Any, *, update: bool, path_id: str | None = None, profile: str = "catena-x",
                    dataspace: str | None = None, gaiax: bool = False) -> tuple[str, Policy, dict]:
    node = expand_body(body, "PolicyDefinition", "PolicyDefinitionDto")
    body_id = node_id(node)
    if path_id is not None and body_id is not None and body_id != path_id:
        raise bad_request("@id", f"the body names {body_id!r} but the path names {path_id!r}", body_id)
    policy_id = path_id or body_id
    if policy_id is None:
        if update:
            raise bad_request("@id", "is required: which policy definition to update")
        policy_id = str(uuid.uuid4())  # as EDC does on create
    policy_node = child(node, "policy", required=True)
    policy, _ = read_policy(policy_node, "policy", ("Set", "Policy"))
    refuse_violations(written_violations(normalize(policy_node)))
    check_profile(policy, profile, dataspace, gaiax)
    return policy_id, policy, properties(node, "privateProperties")


def check_profile(policy: Policy, profile: str, dataspace: str | None = None, gaiax: bool = False) -> None:
    """Refuse, before anything is stored, a policy the configured profile does not allow.

    ``catena-x``: the whole 2025-09 profile. ``lenient``: unknown operands, wrong operators and
    wrong right-operand types are still refused, but not the profile's structure rules (such as
    two constraints per usage permission), for data spaces that are not Catena-X.
    An unknown operand is answered with the closest of ``dataspace`` (``[profile] dataspace``, and
    Gaia-X's with ``gaiax``) first, as the console's editor answers (connector.policy.suggest).
    """
    violations = validate(policy, dataspace=dataspace, gaiax=gaiax)
    if profile == "lenient":
        violations = [v for v in violations if v.code in LENIENT_CODES]
    refuse_violations(violations)


def refuse_violations(violations: list[Violation]) -> None:
    """A 400 naming every violation at its field path (under ``policy.``), or nothing."""
    if violations:
        error = bad_request("policy." + violations[0].path if violations[0].path else "policy",
                            f"{violations[0].found}; expected {violations[0].expected}")
        for v in violations[1:]:
            error.entries.append(entry(f"policy.{v.path}: {v.found}; expected {v.expected}", 400,
                                       "policy." + v.path if v.path else "policy", None))
        raise error


def _reading(settings: Any) -> dict[str, Any]:
    """How this connector reads a policy definition: its policy profile and its data spaces."""
    return {"profile": settings.policy_profile, "dataspace": settings.profile.dataspace,
            "gaiax": settings.gaiax is not None}


def render_definition(row: PolicyDefinition) -> dict:
    return with_context({
        "@id": row.id,
        "@type": "PolicyDefinition",
        "policy": render_stored(row.policy, "Set"),
        "privateProperties": render_properties(row.private_properties),
        "createdAt": row.created_at,
    })


@router.post("")
async def create_policy(body: Body, definitions: Definitions, services: Services) -> JSONResponse:
    def work() -> dict:
        row = definitions.create_policy(*read_definition(body, update=False, **_reading(services.settings)))
        return id_response(row.id, row.created_at)

    return JSONResponse(await run_in_threadpool(work))


@router.put("")
async def update_policy_in_body(body: Body, definitions: Definitions, services: Services) -> Response:
    reading = _reading(services.settings)
    await run_in_threadpool(lambda: definitions.update_policy(*read_definition(body, update=True, **reading)))
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
async def update_policy(policy_id: str, body: Body, definitions: Definitions, services: Services) -> Response:
    reading = _reading(services.settings)
    await run_in_threadpool(lambda: definitions.update_policy(
        *read_definition(body, update=True, path_id=policy_id, **reading)))
    return Response(status_code=204)


@router.delete("/{policy_id}")
async def delete_policy(policy_id: str, definitions: Definitions) -> Response:
    await run_in_threadpool(definitions.delete_policy, policy_id)
    return Response(status_code=204)


@router.post("/{policy_id}/validate")
async def validate_policy(policy_id: str, definitions: Definitions, services: Services) -> JSONResponse:
    """The stored policy against the Catena-X profile (as an access or a usage policy, by its actions).
    ``warnings`` (valid, but probably not meant): in dcp mode, an access policy needing a credential
    a catalog request does not prove hides its offer from everyone."""
    from connector.identity.dcp_messages import catalog_unprovable

    identity = services.settings.identity

    def work() -> dict:
        policy = policy_from_compact_dsp(definitions.policy(policy_id).policy)
        violations = validate(policy)
        kind = infer_kind(policy)
        warnings = (catalog_unprovable(policy, identity.required_credentials)
                    if kind == "access" and identity.auth_mode == "dcp" else [])
        return with_context({
            "@type": "PolicyValidationResult", "isValid": not violations, "kind": kind,
            "errors": [str(v) for v in violations], "violations": [v.to_dict() for v in violations],
            "warnings": warnings,
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
