"""Contract definitions (which assets are offered under which access and usage policy) and
business-partner groups (the groups a BPN belongs to, for BusinessPartnerGroup constraints)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from connector.services.definitions import ContractDefinitionInput
from connector.services.errors import InvalidRequest, ServiceError
from connector.services.groups import GroupService
from connector.services.queries import QuerySpec
from connector.web.render import redirect, render
from connector.web.routing import Admin, Form, Services, WebRoute, definitions, queries

router = APIRouter(route_class=WebRoute, include_in_schema=False)
EDC_ID = "https://w3id.org/edc/v0.0.1/ns/id"


def _contracts_page(request: Request, services: Services, *, form: dict, error: dict | None,
                    status: int = 200) -> Response:
    service = definitions(services)
    everything = QuerySpec(limit=500)
    return render(request, "contracts.html", status=status, section="contracts", title="Contract definitions",
                  contracts=service.contract_definitions(everything), policies=[p.id for p in service.policies(everything)],
                  assets=[a.id for a in service.assets(everything)], form=form, error=error)


@router.get("/contracts")
async def contracts(request: Request, admin: Admin, services: Services) -> Response:
    return await run_in_threadpool(lambda: _contracts_page(request, services, form={}, error=None))


@router.post("/contracts")
async def create_contract(request: Request, form: Form, services: Services) -> Response:
    fields = {k: str(form.get(k) or "").strip() for k in ("id", "access", "usage", "asset")}
    selector = [{"operandLeft": EDC_ID, "operator": "=", "operandRight": fields["asset"]}] if fields["asset"] else []
    try:
        if not fields["id"]:
            raise InvalidRequest("id", "id: give the contract definition an id", path="id")
        await run_in_threadpool(definitions(services).create_contract_definition, ContractDefinitionInput(
            id=fields["id"], access_policy_id=fields["access"], contract_policy_id=fields["usage"],
            assets_selector=selector))
    except ServiceError as exc:
        error = {"path": exc.path, "text": "; ".join(exc.reasons)}
        return await run_in_threadpool(lambda: _contracts_page(request, services, form=fields, error=error, status=400))
    return redirect(request, "/ui/contracts", f"Contract definition {fields['id']} created: "
                    f"{fields['asset'] or 'every asset'} is offered.")


@router.post("/contracts/{cd_id}/delete")
async def delete_contract(cd_id: str, request: Request, form: Form, services: Services) -> Response:
    await run_in_threadpool(definitions(services).delete_contract_definition, cd_id)
    return redirect(request, "/ui/contracts", f"Contract definition {cd_id} deleted.")


def _groups(services: Services) -> GroupService:
    return services.groups


@router.get("/groups")
async def groups(request: Request, admin: Admin, services: Services) -> Response:
    rows = await run_in_threadpool(queries(services).groups)
    return render(request, "groups.html", section="groups", title="Business-partner groups", groups=rows, form={},
                  error=None)


@router.post("/groups")
async def put_groups(request: Request, form: Form, services: Services) -> Response:
    bpn = str(form.get("bpn") or "").strip()
    names = [g.strip() for g in str(form.get("groups") or "").replace("\n", ",").split(",") if g.strip()]
    try:
        if not names:
            raise InvalidRequest("groups", "groups: name at least one group (comma-separated)", path="groups")
        await run_in_threadpool(lambda: _groups(services).put(bpn, names))
    except ServiceError as exc:
        rows = await run_in_threadpool(queries(services).groups)
        return render(request, "groups.html", status=400, section="groups", title="Business-partner groups",
                      groups=rows, form={"bpn": bpn, "groups": ", ".join(names)},
                      error={"path": exc.path, "text": "; ".join(exc.reasons)})
    return redirect(request, "/ui/groups", f"{bpn} is now in {', '.join(sorted(set(names)))}.")


@router.post("/groups/{bpn}/delete")
async def delete_groups(bpn: str, request: Request, form: Form, services: Services) -> Response:
    await run_in_threadpool(_groups(services).delete, bpn)
    return redirect(request, "/ui/groups", f"{bpn} is in no group now.")
