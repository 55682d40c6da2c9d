"""``/v3/catalog``: another company's catalog, fetched over DSP for our staff.

``POST /v3/catalog/request`` ``{counterPartyAddress, counterPartyId, protocol, querySpec?}``
answers the provider's Catalog as received; ``POST /v3/catalog/dataset/request``
``{@id, counterPartyAddress, counterPartyId, protocol}`` one of its datasets. A failing
counter-party is a 502 whose message carries the peer's own reason.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.management.deps import Body, Remote
from connector.management.errors import ManagementRoute, bad_request
from connector.management.jsonld import child, expand_body, node_id, query_spec_of, read_query_spec, string, values
from connector.services.queries import QuerySpec
from connector.services.ssrf import SsrfRefused

router = APIRouter(prefix="/v3/catalog", route_class=ManagementRoute, tags=["catalog"])

# DSP 2025-1 is what we speak; the bare name is what tractusx-sdk sends by default
PROTOCOLS = ("dataspace-protocol-http:2025-1", "dataspace-protocol-http")


def read_counterparty(node: dict) -> tuple[str, str | None]:
    """``counterPartyAddress`` (the peer's DSP base URL), ``counterPartyId``, and a known protocol."""
    address = string(node, "counterPartyAddress", required=True) or ""
    parsed = urlparse(address)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise bad_request("counterPartyAddress", "expected the counter-party's DSP URL, "
                          "e.g. https://provider.example/api/dsp/2025-1", address)
    protocol = string(node, "protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        raise bad_request("protocol", f"expected {' or '.join(repr(p) for p in PROTOCOLS)}", protocol)
    return address, string(node, "counterPartyId")


def check_address(services: Any, address: str) -> str:
    """A 400 now, rather than a process that fails later, for an address the SSRF guard refuses."""
    try:
        services.guard.check(address)
    except SsrfRefused as exc:
        raise bad_request("counterPartyAddress", f"an address this connector may call: {exc.reason}",
                          address) from exc
    return address


def _query_spec(node: dict) -> QuerySpec | None:
    found = values(node, "querySpec")
    if not found:
        return None
    first = found[0]
    if isinstance(first, dict) and isinstance(first.get("@value"), str):
        # tractusx-sdk's queryspec_from_queryspec_model() puts the QuerySpec in as a JSON *string*
        try:
            return read_query_spec(json.loads(first["@value"]))
        except ValueError as exc:
            raise bad_request("querySpec", "expected a QuerySpec object", first["@value"][:200]) from exc
    spec_node = child(node, "querySpec")
    if not any(not k.startswith("@") for k in spec_node or {}):
        return None  # an empty querySpec asks for nothing: the catalog as the provider pages it
    return query_spec_of(spec_node, "querySpec")


def read_catalog_request(body: Any) -> tuple[str, str | None, QuerySpec | None]:
    node = expand_body(body, "CatalogRequest")
    address, counterparty_id = read_counterparty(node)
    return address, counterparty_id, _query_spec(node)


def read_dataset_request(body: Any) -> tuple[str, str | None, str]:
    node = expand_body(body, "DatasetRequest")
    dataset_id = node_id(node, required=True) or ""
    address, counterparty_id = read_counterparty(node)
    return address, counterparty_id, dataset_id


@router.post("/request")
async def request_catalog(body: Body, remote: Remote) -> JSONResponse:
    address, counterparty_id, spec = await run_in_threadpool(read_catalog_request, body)
    return JSONResponse(await remote.catalog(address, counterparty_id, spec))


@router.post("/dataset/request")
async def request_dataset(body: Body, remote: Remote) -> JSONResponse:
    address, counterparty_id, dataset_id = await run_in_threadpool(read_dataset_request, body)
    return JSONResponse(await remote.dataset(address, counterparty_id, dataset_id))
