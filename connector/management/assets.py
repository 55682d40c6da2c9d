"""``/v3/assets``: what a provider can offer, with the data address behind it.

Properties are stored keyed by full IRI (the catalog shows them to peers as they are); the data
address is stored flat, EDC-namespace keys shortened to bare words (``type``, ``baseUrl``,
``proxyPath``, ``header:X``, ``oauth2:tokenUrl``), which is how a data plane reads it. An ``Mqtt``
address (Factory-X ADR 012) keeps ADR 012's keys as ``dsp-mqtt:topic`` however the client's context
wrote them (CURIE or full IRI); ``services.dataflow.mqtt`` says what it may hold.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.jsonld.terms import DSP_MQTT_NS, EDC_NS
from connector.management.deps import Body, Definitions
from connector.management.errors import ManagementRoute, bad_request
from connector.management.jsonld import (
    check_type,
    child,
    expand_body,
    id_response,
    localize,
    node_id,
    properties,
    read_query_spec,
    render_properties,
    simplify,
    with_context,
)
from connector.services.definitions import AssetInput
from connector.store.models import Asset

router = APIRouter(prefix="/v3/assets", route_class=ManagementRoute, tags=["assets"])


def read_asset(body: Any, *, update: bool) -> AssetInput:
    node = expand_body(body, "Asset", "AssetEntryNewDto")
    # EDC makes up an id when none is given on create; an update must say which asset
    asset_id = node_id(node, required=update) or str(uuid.uuid4())
    address = child(node, "dataAddress", required=True)
    check_type(address, "dataAddress.@type", ("DataAddress",))
    flat = {(k[len(EDC_NS):] if k.startswith(EDC_NS) else k): localize(simplify(v))
            for k, v in address.items() if not k.startswith("@")}
    document = _raw_document(body)
    if document is not None:
        # a stored document is opaque data, not part of the asset's JSON-LD: keep it byte for byte
        # (expansion would turn one-item arrays into scalars and read any @context inside it)
        flat["document"] = document
    kind = flat.get("type")
    if kind == "Mqtt":  # ADR 012's keys by their CURIE, however the client's context wrote them
        flat = {("dsp-mqtt:" + k[len(DSP_MQTT_NS):] if k.startswith(DSP_MQTT_NS) else k): v for k, v in flat.items()}
    if not isinstance(kind, str) or not kind:
        raise bad_request("dataAddress.type", 'is required: the kind of data address, e.g. "HttpData"', kind)
    return AssetInput(
        id=asset_id,
        properties=properties(node, "properties"),
        private_properties=properties(node, "privateProperties"),
        data_address=flat,
    )


def _raw_document(body: Any) -> Any:
    """The dataAddress's ``document`` exactly as the client sent it, if there is one."""
    if not isinstance(body, dict):
        return None
    for address_key in ("dataAddress", "edc:dataAddress", EDC_NS + "dataAddress"):
        address = body.get(address_key)
        if isinstance(address, dict):
            for key in ("document", "edc:document", EDC_NS + "document"):
                if key in address:
                    return address[key]
    return None


def render_asset(asset: Asset) -> dict:
    return with_context({
        "@id": asset.id,
        "@type": "Asset",
        "properties": render_properties(asset.properties),
        "privateProperties": render_properties(asset.private_properties),
        "dataAddress": {"@type": "DataAddress", **(asset.data_address or {})},
        "createdAt": asset.created_at,
    })


@router.post("")
async def create_asset(body: Body, definitions: Definitions) -> JSONResponse:
    def work() -> dict:
        row = definitions.create_asset(read_asset(body, update=False))
        return id_response(row.id, row.created_at)

    return JSONResponse(await run_in_threadpool(work))


@router.put("")
async def update_asset(body: Body, definitions: Definitions) -> Response:
    await run_in_threadpool(lambda: definitions.update_asset(read_asset(body, update=True)))
    return Response(status_code=204)


@router.post("/request")
async def query_assets(body: Body, definitions: Definitions) -> JSONResponse:
    def work() -> list:
        return [render_asset(a) for a in definitions.assets(read_query_spec(body))]

    return JSONResponse(await run_in_threadpool(work))


@router.get("/{asset_id}")
async def get_asset(asset_id: str, definitions: Definitions) -> JSONResponse:
    return JSONResponse(render_asset(await run_in_threadpool(definitions.asset, asset_id)))


@router.delete("/{asset_id}")
async def delete_asset(asset_id: str, definitions: Definitions) -> Response:
    await run_in_threadpool(definitions.delete_asset, asset_id)
    return Response(status_code=204)
