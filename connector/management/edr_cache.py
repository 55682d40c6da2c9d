"""``/v3/edrs``: the consumer's EDR cache, as Tractus-X EDC has it and tractusx-sdk drives it.

- ``POST /v3/edrs``: a ContractRequest (as ``/v3/contractnegotiations`` takes it), plus optional
  ``transferType`` (default ``HttpData-PULL``) and ``dataDestination``. Negotiates; once the
  negotiation is FINALIZED the transfer starts by itself. Answers the negotiation's IdResponse.
- ``POST /v3/edrs/request``: a QuerySpec on ``assetId``, ``agreementId``, ``contractNegotiationId``,
  ``providerId``, ``transferProcessId`` → EndpointDataReferenceEntry list (pull transfers not yet
  ended that hold an EDR).
- ``GET /v3/edrs/{tp}/dataaddress?auto_refresh=true``: the EDR as a compacted DataAddress, keys
  ``endpoint``, ``authorization``, ``authType``, ``endpointType``, ``tx-auth:refreshToken``,
  ``tx-auth:refreshEndpoint``, ``tx-auth:expiresIn`` ... (whatever the provider sent; an MQTT
  stream's, Factory-X ADR 012: ``type`` ``Mqtt``, ``mqttEndpointType``, ``dsp-mqtt:baseUrl``,
  ``dsp-mqtt:authorization`` ...). With
  ``auto_refresh`` (the default) a token that has expired, or expires within the margin, is
  refreshed first; one that cannot be refreshed ends its transfer (409, saying why).
- ``POST /v3/edrs/{tp}/refresh``: refresh now; answers the new DataAddress.
- ``DELETE /v3/edrs/{tp}``: forget the EDR; its transfer is completed (or terminated if suspended).

The work is ``services.edr_cache``'s; this module reads bodies and renders answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.jsonld.terms import DSP_MQTT_NS, TX_AUTH_NS
from connector.management.catalog import check_address
from connector.management.deps import Body, Services
from connector.management.errors import ManagementRoute, bad_request
from connector.management.jsonld import (
    OUT_CONTEXT,
    compact_key,
    expand_body,
    id_response,
    plain,
    read_query_spec,
    string,
)
from connector.management.negotiations import check_known_provider, read_contract_request, verified_offer
from connector.management.transfers import dsp_destination
from connector.services.edr_cache import ConsumerEdrs
from connector.services.transfer import FORMATS, PULL, PUSH
from connector.store.models import TransferProcess

router = APIRouter(prefix="/v3/edrs", route_class=ManagementRoute, tags=["edrs"])

TX_NS = "https://w3id.org/tractusx/v0.0.1/ns/"
EDR_CONTEXT = {**OUT_CONTEXT, "tx": TX_NS, "tx-auth": TX_AUTH_NS, "dsp-mqtt": DSP_MQTT_NS}


def _edrs(services: Any) -> ConsumerEdrs:
    return services.edr_cache


def read_edr_request(body: Any) -> tuple[dict, str, dict | None]:
    """The negotiation request, the transfer type and the (DSP) destination of a ``POST /v3/edrs`` body."""
    request = read_contract_request(body)
    node = expand_body(body, "ContractRequest", "ContractRequestDto")
    transfer_type = string(node, "transferType") or PULL
    if transfer_type not in FORMATS:
        raise bad_request("transferType", f"expected one of {', '.join(FORMATS)}", transfer_type)
    destination = dsp_destination(plain(node, "dataDestination"))
    if transfer_type == PUSH and destination is None:
        raise bad_request("dataDestination", "a push transfer needs the address the provider sends the data to")
    return request, transfer_type, destination


def property_key(name: str) -> str:
    if name.startswith(DSP_MQTT_NS):  # an MQTT stream's EDR (Factory-X ADR 012)
        return "dsp-mqtt:" + name[len(DSP_MQTT_NS):]
    if name.startswith(TX_AUTH_NS):
        return "tx-auth:" + name[len(TX_AUTH_NS):]
    if name.startswith(TX_NS):
        return "tx:" + name[len(TX_NS):]
    return compact_key(name) if "://" in name else name


def render_address(address: dict) -> dict:
    """A stored DSP DataAddress as EDC's compacted DataAddress: one key per endpoint property."""
    endpoint_type = address.get("endpointType")
    out: dict = {"@context": EDR_CONTEXT, "@type": "DataAddress", "type": endpoint_type, "endpointType": endpoint_type}
    if address.get("endpoint") is not None:
        out["endpoint"] = address["endpoint"]
    for item in address.get("endpointProperties") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            out.setdefault(property_key(item["name"]), item.get("value"))
    return out


def render_entry(row: TransferProcess, negotiation_id: str | None) -> dict:
    entry = {
        "@context": EDR_CONTEXT,
        "@type": "EndpointDataReferenceEntry",
        "@id": row.id,
        "transferProcessId": row.id,
        "agreementId": row.agreement_id,
        "contractNegotiationId": negotiation_id,
        "assetId": row.asset_id,
        "providerId": row.counterparty_id,
        "createdAt": row.created_at,
    }
    return {k: v for k, v in entry.items() if v is not None}


@router.post("")
async def negotiate_edr(body: Body, services: Services) -> JSONResponse:
    def work() -> dict:
        request, transfer_type, destination = read_edr_request(body)
        check_address(services, request["counterparty_address"])
        check_known_provider(services, request["counterparty_id"])
        request["signed_offer"] = verified_offer(services, request["offer"], body)
        neg = _edrs(services).negotiate(request, transfer_type, destination)
        return id_response(neg.id, neg.created_at)

    return JSONResponse(await run_in_threadpool(work))


@router.post("/request")
async def query_edrs(body: Body, services: Services) -> JSONResponse:
    def work() -> list:
        return [render_entry(row, neg) for row, neg in _edrs(services).entries(read_query_spec(body))]

    return JSONResponse(await run_in_threadpool(work))


def _flag(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false", "1", "0"):
        raise bad_request(name, "expected true or false", raw)
    return raw.lower() in ("true", "1")


@router.get("/{transfer_id}/dataaddress")
async def data_address(transfer_id: str, request: Request, services: Services) -> JSONResponse:
    auto_refresh = _flag(request, "auto_refresh", True)
    address = await run_in_threadpool(lambda: _edrs(services).data_address(transfer_id, auto_refresh=auto_refresh))
    return JSONResponse(render_address(address), headers={"Cache-Control": "no-store"})


@router.post("/{transfer_id}/refresh")
async def refresh(transfer_id: str, services: Services) -> JSONResponse:
    address = await run_in_threadpool(_edrs(services).refresh, transfer_id)
    return JSONResponse(render_address(address), headers={"Cache-Control": "no-store"})


@router.delete("/{transfer_id}")
async def delete(transfer_id: str, services: Services) -> Response:
    await run_in_threadpool(_edrs(services).delete, transfer_id)
    return Response(status_code=204)

