"""Policies: the list, the editor (built from the templates in ``policies/``, checked as the admin
types), one policy with "explain for partner X", and delete.

The editor's fields are named by field path (``web.policy_form``); ``/ui/api/policies/validate``
answers every problem with its path, so the browser shows it at that field.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.policy import evaluation_plan, infer_kind, policy_from_compact_dsp
from connector.policy.profile import SCOPES
from connector.services.console import check_draft, policy_templates
from connector.services.errors import InvalidRequest, ServiceError
from connector.services.queries import QuerySpec
from connector.web.peers import known_peers
from connector.web.policy_form import (
    OPERATORS,
    editor_of,
    operands_for,
    policy_fields,
    templates_for,
    unflatten,
    with_profile_hints,
)
from connector.web.render import redirect, render
from connector.web.routing import Admin, Form, Json, Services, WebRoute, definitions, queries

router = APIRouter(route_class=WebRoute, include_in_schema=False)
BLANK = {"@context": ["https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
                      "https://w3id.org/catenax/2025/9/policy/context.jsonld"],
         "@type": "Set", "permission": [{"action": "use", "constraint": [{"and": [
             {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
             {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}]}]}]}


def summary(policy: dict) -> list[str]:
    """Each constraint as one short line: "FrameworkAgreement eq DataExchangeGovernance:1.0"."""
    lines = []
    for block in editor_of(policy).rules:
        for row in block.rows:
            lines.append(f"{block.kind}: {row.left} {row.operator} {row.right}")
    return lines


def _spaces(settings: Any) -> tuple[str, bool]:
    """``[profile] dataspace`` and whether ``[gaiax]`` is set: whose operands and templates come first."""
    return settings.profile.dataspace, settings.gaiax is not None


def _templates(settings: Any) -> list[str]:
    return templates_for(list(policy_templates()), *_spaces(settings))


def _checked(policy: dict, settings: Any) -> tuple[Any, list[dict]]:
    typed, problems = check_draft(policy, settings.policy_profile)
    return typed, with_profile_hints(problems, policy, *_spaces(settings))


def _kind(policy: dict) -> str:
    try:
        return infer_kind(policy_from_compact_dsp(policy))
    except ValueError:
        return "?"


@router.get("/policies")
async def policies(request: Request, admin: Admin, services: Services) -> Response:
    rows = await run_in_threadpool(definitions(services).policies, QuerySpec(limit=500))
    shown = [{"id": r.id, "kind": _kind(r.policy), "summary": summary(r.policy), "created": r.created_at} for r in rows]
    return render(request, "policies.html", section="policies", title="Policies", policies=shown,
                  templates=_templates(services.settings))


def placed_problems(problems: list[dict], paths: set[str]) -> dict[str, list[str]]:
    """Each problem under the nearest field the editor shows: its own path, else the closest
    enclosing one (a constraint row, a rule), else the policy as a whole ("")."""
    out: dict[str, list[str]] = {}
    for problem in problems:
        path = problem.get("path") or ""
        while path and path not in paths:
            path = path.rsplit(".", 1)[0] if "." in path else ""
        out.setdefault(path, []).append(f"{problem['found']}; expected {problem['expected']}")
    return out


def _editor_page(request: Request, *, policy: dict, policy_id: str, template: str, problems: list[dict],
                 status: int = 200, editing: bool = False) -> Response:
    editor = editor_of(policy)
    settings = request.app.state.services.settings
    paths = {"policy_id"} | {r.path for r in editor.rules} | {r.path + ".action" for r in editor.rules}
    paths |= {row.prefix + part for r in editor.rules for row in r.rows
              for part in ("", ".leftOperand", ".operator", ".rightOperand")}
    return render(request, "policy_edit.html", status=status, section="policies",
                  title=f"Edit policy {policy_id}" if editing else "New policy", editing=editing, editor=editor, policy_id=policy_id, template=template, problems=problems,
                  placed=placed_problems(problems, paths),
                  templates=_templates(settings), operands=operands_for(*_spaces(settings)), operators=OPERATORS,
                  preview=json.dumps(policy, indent=2))


@router.get("/policies/new")
async def new_policy(request: Request, admin: Admin, template: str = "") -> Response:
    templates = policy_templates()
    if template and template not in templates:
        raise InvalidRequest("template", f"no template {template!r}; the templates are {', '.join(templates)}")
    policy = templates.get(template) or BLANK
    return _editor_page(request, policy=policy, template=template,
                        policy_id=(template + "-1") if template else "", problems=[])


@router.post("/api/policies/validate")
async def validate_draft(body: Json, services: Services) -> JSONResponse:
    """``{"fields": {path: text}}`` → ``{"valid", "problems": [{path, found, expected, code}], "policy"}``."""
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        raise InvalidRequest("fields", 'expected {"fields": {"<field path>": "<value>", ...}}', path="fields")
    policy = unflatten({k: v for k, v in fields.items() if isinstance(v, str)})
    _, problems = _checked(policy, services.settings)
    return JSONResponse({"valid": not problems, "problems": problems, "policy": policy})


@router.get("/policies/{policy_id}/edit")
async def edit_policy(policy_id: str, request: Request, admin: Admin, services: Services) -> Response:
    row = await run_in_threadpool(definitions(services).policy, policy_id)
    return _editor_page(request, policy=row.policy, policy_id=policy_id, template="", problems=[], editing=True)


@router.post("/policies")
async def save_policy(request: Request, form: Form, services: Services) -> Response:
    """Create a policy, or (``editing``) replace the one named; refused with every problem at its field."""
    policy_id = str(form.get("policy_id") or "").strip()
    editing = form.get("editing") == "1"
    draft = unflatten(policy_fields(form))
    typed, problems = _checked(draft, services.settings)
    if not policy_id:
        problems.insert(0, {"path": "policy_id", "found": "no id", "expected": "an id, e.g. pcf-usage",
                            "code": "structure"})
    if not problems and typed is not None:
        service = definitions(services)
        try:
            await run_in_threadpool(service.update_policy if editing else service.create_policy, policy_id, typed)
        except ServiceError as exc:
            problems = [{"path": "policy_id" if exc.path == "@id" else (exc.path or ""), "found": "; ".join(exc.reasons),
                         "expected": "another id" if exc.status == 409 else "", "code": exc.code}]
        else:
            return redirect(request, f"/ui/policies/{quote(policy_id, safe='')}",
                            f"Policy {policy_id} {'changed' if editing else 'saved'}.")
    return _editor_page(request, policy=draft, policy_id=policy_id, template=str(form.get("template") or ""),
                        problems=problems, status=400, editing=editing)


def _explain(services: Any, policy_id: str, participant: str, scope: str, claims_text: str) -> dict:
    claims = None
    if claims_text.strip():
        try:
            claims = json.loads(claims_text)
        except ValueError as exc:
            raise InvalidRequest("claims", f"claims: not valid JSON ({exc})", path="claims") from exc
        if not isinstance(claims, dict):
            raise InvalidRequest("claims", 'claims: a JSON object, e.g. {"bpn": "BPNL..."}', path="claims")
    explainer = services.policy_dry_run
    result = explainer.policy(policy_id, participant, scope or None, claims)
    # what the partner would see in our catalog, for every offer this policy takes part in
    offers = []
    for cd in queries(services).definitions_using(policy_id):
        if cd.asset_id:
            try:
                offers.extend(explainer.offer(cd.asset_id, participant, claims)["offers"])
            except ServiceError:
                continue
    return {"decision": result, "offers": offers}


@router.get("/policies/{policy_id}")
async def policy(policy_id: str, request: Request, admin: Admin, services: Services, explain_for: str = "",
                 scope: str = "contract.negotiation", claims: str = "") -> Response:
    row = await run_in_threadpool(definitions(services).policy, policy_id)
    used_by = await run_in_threadpool(queries(services).definitions_using, policy_id)
    explained, explain_error = None, None
    if explain_for.strip():
        try:
            explained = await run_in_threadpool(_explain, services, policy_id, explain_for.strip(), scope, claims)
        except ServiceError as exc:
            explain_error = "; ".join(exc.reasons)
    typed = policy_from_compact_dsp(row.policy)
    return render(request, "policy.html", section="policies", title=f"Policy {policy_id}", row=row,
                  kind=_kind(row.policy), summary=summary(row.policy), plan=evaluation_plan(typed), used_by=used_by,
                  peers=known_peers(services), scopes=SCOPES, explain_for=explain_for, scope=scope, claims=claims,
                  explained=explained, explain_error=explain_error)


@router.post("/policies/{policy_id}/delete")
async def delete_policy(policy_id: str, request: Request, form: Form, services: Services) -> Response:
    await run_in_threadpool(definitions(services).delete_policy, policy_id)
    return redirect(request, "/ui/policies", f"Policy {policy_id} deleted.")
