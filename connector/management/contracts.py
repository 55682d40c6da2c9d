"""``/v3/contractdefinitions``: which assets are offered under which access and usage policy.

``assetsSelector`` is one criterion or a list (all must hold; an empty list selects every
asset). The policy ids are not checked at creation, as in EDC; the catalog offers nothing for a
definition whose policies are missing.
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
    expand_body,
    id_response,
    node_id,
    plain,
    properties,
    read_query_spec,
    render_properties,
    string,
    with_context,
)
from connector.services.definitions import ContractDefinitionInput
from connector.store.models import ContractDefinition

router = APIRouter(prefix="/v3/contractdefinitions", route_class=ManagementRoute, tags=["contractdefinitions"])


def read_contract_definition(body: Any, *, update: bool) -> ContractDefinitionInput:
    node = expand_body(body, "ContractDefinition")
    cd_id = node_id(node, required=update) or str(uuid.uuid4())
    selector = plain(node, "assetsSelector")
    if selector is None:
        selector = []
    items = selector if isinstance(selector, list) else [selector]
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad_request(f"assetsSelector[{i}]", "expected a criterion {operandLeft, operator, operandRight}",
                              item)
    return ContractDefinitionInput(
        id=cd_id,
        access_policy_id=string(node, "accessPolicyId", required=True) or "",
        contract_policy_id=string(node, "contractPolicyId", required=True) or "",
        assets_selector=[{k: v for k, v in item.items() if not k.startswith("@")} for item in items],
        private_properties=properties(node, "privateProperties"),
    )


def render_contract_definition(row: ContractDefinition) -> dict:
    return with_context({
        "@id": row.id,
        "@type": "ContractDefinition",
        "accessPolicyId": row.access_policy_id,
        "contractPolicyId": row.contract_policy_id,
        "assetsSelector": [{"@type": "Criterion", **c} for c in (row.assets_selector or [])],
        "privateProperties": render_properties(row.private_properties),
        "createdAt": row.created_at,
    })


@router.post("")
async def create_contract_definition(body: Body, definitions: Definitions) -> JSONResponse:
    def work() -> dict:
        row = definitions.create_contract_definition(read_contract_definition(body, update=False))
        return id_response(row.id, row.created_at)

    return JSONResponse(await run_in_threadpool(work))


@router.put("")
async def update_contract_definition(body: Body, definitions: Definitions) -> Response:
    await run_in_threadpool(lambda: definitions.update_contract_definition(read_contract_definition(body, update=True)))
    return Response(status_code=204)


@router.post("/request")
async def query_contract_definitions(body: Body, definitions: Definitions) -> JSONResponse:
    def work() -> list:
        return [render_contract_definition(c) for c in definitions.contract_definitions(read_query_spec(body))]

    return JSONResponse(await run_in_threadpool(work))


@router.get("/{cd_id}")
async def get_contract_definition(cd_id: str, definitions: Definitions) -> JSONResponse:
    return JSONResponse(render_contract_definition(await run_in_threadpool(definitions.contract_definition, cd_id)))


@router.delete("/{cd_id}")
async def delete_contract_definition(cd_id: str, definitions: Definitions) -> Response:
    await run_in_threadpool(definitions.delete_contract_definition, cd_id)
    return Response(status_code=204)
