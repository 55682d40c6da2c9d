"""``/v3/transferprocesses``: start, watch and end transfer processes, as EDC's Management API v3 has them.

``POST`` takes a TransferRequest: ``contractId`` (or ``agreementId``: the agreement, which we hold
as consumer), ``counterPartyAddress`` (the provider's DSP base), ``protocol``, ``transferType``
(``HttpData-PULL``, ``HttpData-PUSH``, or ``Mqtt-PULL`` for an MQTT stream), ``dataDestination`` (push: where the provider sends the
data, EDC style ``{type: "HttpData", baseUrl, authKey, authCode, header:*}`` or a DSP DataAddress),
``privateProperties``, ``callbackAddresses``. The answer is the new id at once; the worker sends
the TransferRequestMessage and the state moves as the provider answers.

A transfer process shows EDC's fields (``@id``, ``type`` CONSUMER|PROVIDER, ``state``,
``contractId``, ``correlationId`` = the peer's process id, ``assetId``, ``transferType``,
``dataDestination``, ``errorDetail``) plus ``error {by, code, reasons}``: who ended it and why.
``/request`` filters on ``contractAgreementId``, ``contractId`` and ``agreementId`` alike, since
tractusx-sdk probes all three. ``/deprovision`` is accepted and does nothing (204): this
connector provisions nothing per transfer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.management.catalog import check_address, read_counterparty
from connector.management.deps import Body, Queries, Services
from connector.management.errors import ManagementRoute, bad_request
from connector.management.jsonld import (
    expand_body,
    id_response,
    plain,
    properties,
    read_query_spec,
    render_properties,
    string,
    values,
    with_context,
)
from connector.management.negotiations import PROTOCOL
from connector.management.negotiations import _callbacks as read_callbacks
from connector.protocol.transfer_messages import DataAddress
from connector.services.criteria import EDC_NS
from connector.services.queries import correlation_id, shown_transfer_state
from connector.services.transfer import FORMATS, PULL, PUSH
from connector.store.models import TransferProcess

router = APIRouter(prefix="/v3/transferprocesses", route_class=ManagementRoute, tags=["transferprocesses"])

E = EDC_NS
HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"
HIDDEN_PREFIX = "pontis:"  # private properties the connector keeps for itself


# --- in ------------------------------------------------------------------------------------------


def dsp_destination(raw: Any, path: str = "dataDestination") -> dict | None:
    """A push destination as the DSP DataAddress the provider receives, from EDC's or DSP's shape."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request(path, "expected a DataAddress object", raw)
    fields = {k: v for k, v in raw.items() if not k.startswith("@")}
    if "endpointType" in fields:  # already a DSP DataAddress
        try:
            return DataAddress.from_json({**raw, "@type": "DataAddress"}, path).to_json()
        except Exception as exc:  # MessageFormatError, said with its field
            raise bad_request(path, str(exc), raw) from exc
    kind = fields.pop("type", None)
    endpoint = fields.pop("baseUrl", None) or fields.pop("endpoint", None)
    if kind in (None, "HttpProxy") and endpoint is None:
        return None  # a pull's destination names no address: EDC clients send {type: HttpProxy}
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        raise bad_request(f"{path}.baseUrl", "an http(s) URL the provider sends the data to", endpoint)
    props = tuple((name, value if isinstance(value, str) else str(value)) for name, value in fields.items()
                  if isinstance(value, (str, int, float, bool)))
    endpoint_type = HTTP_ENDPOINT_TYPE if kind in (None, "HttpData") else str(kind)
    return DataAddress(endpoint_type, endpoint, props).to_json()


def read_transfer_request(body: Any) -> dict:
    """The keyword arguments of ``TransferService.request`` for a TransferRequest body."""
    node = expand_body(body, "TransferRequest", "TransferRequestDto")
    agreement_id = string(node, "contractId") or string(node, "agreementId") or string(node, "contractAgreementId")
    if not agreement_id:
        raise bad_request("contractId", "is required: the id of the agreement to transfer under")
    address, counterparty_id = read_counterparty(node)
    transfer_type = string(node, "transferType") or PULL
    if transfer_type not in FORMATS:
        raise bad_request("transferType", f"expected one of {', '.join(FORMATS)}", transfer_type)
    destination = dsp_destination(plain(node, "dataDestination"))
    if transfer_type == PUSH and destination is None:
        raise bad_request("dataDestination", "a push transfer needs the address the provider sends the data to "
                                             "(e.g. {type: HttpData, baseUrl: https://...})")
    return {
        "agreement_id": agreement_id, "counterparty_address": address, "counterparty_id": counterparty_id,
        "transfer_type": transfer_type, "data_destination": destination if transfer_type == PUSH else None,
        "private_properties": properties(node, "privateProperties"), "callback_addresses": read_callbacks(node),
    }


def _reason(body: Any) -> str | None:
    # any @type: EDC clients send TerminateTransfer/SuspendTransfer, tractusx-sdk whatever model it has
    node = expand_body(body, required=False)
    return string(node, "reason") if values(node, "reason") else None


# --- out -----------------------------------------------------------------------------------------


def shown_destination(row: TransferProcess) -> dict:
    """The destination as EDC shows it: ``HttpProxy`` for a pull, ``HttpData`` + ``baseUrl`` for a push."""
    if row.transfer_type != PUSH or not row.data_destination:
        return {"@type": "DataAddress", "type": "HttpProxy"}
    address = DataAddress.from_json(row.data_destination)
    shown: dict = {"@type": "DataAddress",
                   "type": "HttpData" if address.endpoint_type == HTTP_ENDPOINT_TYPE else address.endpoint_type}
    if address.endpoint:
        shown["baseUrl"] = address.endpoint
    for name, value in address.properties:
        shown[name] = "****" if name.lower() in ("authorization", "authcode") else value  # secrets stay here
    return shown


def error_detail(row: TransferProcess) -> str | None:
    return row.error_detail or ("; ".join((row.error or {}).get("reasons") or []) or None)


def render_transfer(row: TransferProcess) -> dict:
    out: dict = {
        "@type": "TransferProcess",
        "@id": row.id,
        "type": row.role,
        "protocol": PROTOCOL,
        "state": shown_transfer_state(row),
        "stateTimestamp": row.updated_at,
        "contractId": row.agreement_id,
        "assetId": row.asset_id,
        "transferType": row.transfer_type,
        "counterPartyId": row.counterparty_id,
        "counterPartyAddress": row.counterparty_address,
        "dataDestination": shown_destination(row),
        "privateProperties": render_properties({k: v for k, v in (row.private_properties or {}).items()
                                                if not k.startswith(HIDDEN_PREFIX) and k != "consumerClaims"}),
        "callbackAddresses": row.callback_addresses or [],
        "createdAt": row.created_at,
    }
    correlation = correlation_id(row)
    if correlation:
        out["correlationId"] = correlation
    detail = error_detail(row)
    if detail:
        out["errorDetail"] = detail
    if row.error:
        out["error"] = row.error
    return with_context(out)


# --- routes --------------------------------------------------------------------------------------


@router.post("")
async def start_transfer(body: Body, services: Services) -> JSONResponse:
    def work() -> dict:
        request = read_transfer_request(body)
        check_address(services, request["counterparty_address"])
        row = services.transfers.request(**request)
        return id_response(row.id, row.created_at)

    return JSONResponse(await run_in_threadpool(work))


@router.post("/request")
async def query(body: Body, queries: Queries) -> JSONResponse:
    def work() -> list[dict[str, Any]]:
        return [render_transfer(t) for t in queries.transfers(read_query_spec(body))]

    return JSONResponse(await run_in_threadpool(work))


@router.get("/{transfer_id}")
async def get_transfer(transfer_id: str, queries: Queries) -> JSONResponse:
    return JSONResponse(render_transfer(await run_in_threadpool(queries.transfer, transfer_id)))


@router.get("/{transfer_id}/state")
async def get_state(transfer_id: str, queries: Queries) -> JSONResponse:
    row = await run_in_threadpool(queries.transfer, transfer_id)
    return JSONResponse(with_context({"@type": "TransferState", "state": shown_transfer_state(row)}))


@router.post("/{transfer_id}/terminate")
async def terminate(transfer_id: str, body: Body, services: Services) -> Response:
    def work() -> None:
        services.transfers.terminate(transfer_id, _reason(body))

    await run_in_threadpool(work)
    return Response(status_code=204)


@router.post("/{transfer_id}/suspend")
async def suspend(transfer_id: str, body: Body, services: Services) -> Response:
    def work() -> None:
        services.transfers.suspend(transfer_id, _reason(body))

    await run_in_threadpool(work)
    return Response(status_code=204)


@router.post("/{transfer_id}/resume")
async def resume(transfer_id: str, services: Services) -> Response:
    await run_in_threadpool(services.transfers.start, transfer_id)
    return Response(status_code=204)


@router.post("/{transfer_id}/complete")
async def complete(transfer_id: str, services: Services) -> Response:
    await run_in_threadpool(services.transfers.complete, transfer_id)
    return Response(status_code=204)


@router.post("/{transfer_id}/deprovision")
async def deprovision(transfer_id: str, queries: Queries) -> Response:
    """Accepted for EDC clients; nothing is provisioned per transfer here, so there is nothing to undo."""
    await run_in_threadpool(queries.transfer, transfer_id)
    return Response(status_code=204)
