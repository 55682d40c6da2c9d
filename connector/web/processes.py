"""Negotiations and transfers: lists, and one process as a timeline of its states, with the reason
for every refusal; a started pull transfer's data can be downloaded from its page."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from connector.services.console import timeline
from connector.services.criteria import EDC_NS
from connector.services.errors import InvalidRequest
from connector.services.received_edrs import prop
from connector.services.ssrf import SsrfRefused, acheck_backend_url
from connector.store.models import Negotiation, TransferProcess
from connector.web.render import redirect, render
from connector.web.routing import Admin, Form, Services, WebRoute, queries

router = APIRouter(route_class=WebRoute, include_in_schema=False)


EMPTY = {"negotiations": "No negotiations yet. Browse a partner's catalog to start one.",
         "transfers": "No transfers yet. Fetch from a partner's catalog to start one."}


def _kind(request: Request) -> str:
    return "negotiations" if request.url.path.startswith("/ui/negotiations") else "transfers"


@router.get("/negotiations")
@router.get("/transfers")
async def processes(request: Request, admin: Admin, services: Services) -> Response:
    kind = _kind(request)
    rows = await run_in_threadpool(getattr(queries(services), kind))
    return render(request, "processes.html", section=kind, title=kind.capitalize(), rows=rows, kind=kind,
                  empty=EMPTY[kind])


@router.get("/negotiations/{negotiation_id}")
async def negotiation(negotiation_id: str, request: Request, admin: Admin, services: Services) -> Response:
    q = queries(services)
    row = await run_in_threadpool(q.get, Negotiation, negotiation_id, "negotiation")
    line = await run_in_threadpool(timeline, services.db, row)
    transfers = await run_in_threadpool(q.transfers_of, row.agreement_id) if row.agreement_id else []
    return render(request, "process.html", section="negotiations", row=row, what="negotiation", timeline=line,
                  title=f"Negotiation of {row.asset_id or row.offer_id or row.id}", transfers=transfers)


@router.post("/negotiations/{process_id}/terminate")
@router.post("/transfers/{process_id}/terminate")
async def terminate(process_id: str, request: Request, form: Form, services: Services) -> Response:
    kind = _kind(request)
    reason = str(form.get("reason") or "").strip() or "terminated by our admin in the console"
    service = services.negotiations if kind == "negotiations" else services.transfers
    await run_in_threadpool(service.terminate, process_id, reason)
    return redirect(request, f"/ui/{kind}/{process_id}", "Termination sent.")


@router.get("/transfers/{transfer_id}")
async def transfer(transfer_id: str, request: Request, admin: Admin, services: Services) -> Response:
    row = await run_in_threadpool(queries(services).get, TransferProcess, transfer_id, "transfer")
    line = await run_in_threadpool(timeline, services.db, row)
    downloadable = row.role == "CONSUMER" and row.state == "STARTED" and row.data_address is not None
    return render(request, "process.html", section="transfers", title=f"Transfer of {row.asset_id or row.id}", row=row,
                  what="transfer", timeline=line, transfers=[], downloadable=downloadable)


@router.get("/transfers/{transfer_id}/data")
async def download(transfer_id: str, request: Request, admin: Admin, services: Services) -> Response:
    """The data of a started pull transfer, from the provider's data plane with the EDR's token."""
    row = await run_in_threadpool(queries(services).get, TransferProcess, transfer_id, "transfer")
    if row.role != "CONSUMER" or row.state != "STARTED":
        raise InvalidRequest("transfer.state", f"transfer {transfer_id} is {row.state} ({row.role.lower()}): only a "
                                               "started pull transfer of ours has data to download")
    address = await run_in_threadpool(services.edr_cache.data_address, transfer_id)
    token = prop(address, "authorization", EDC_NS + "authorization")
    if not address.get("endpoint") or not token:
        raise InvalidRequest("edr", f"the EDR of transfer {transfer_id} has no endpoint or no token")
    # the endpoint comes from the peer: private and loopback hosts only when they are the peer's own
    # DSP host or in [dataplane] allowlist (the SSRF guard the data plane applies to its backends)
    allowed = [*services.settings.dataplane.allowlist, urlsplit(row.counterparty_address).hostname or ""]
    try:
        await acheck_backend_url(address["endpoint"], allowed)
    except SsrfRefused as exc:
        raise InvalidRequest("edr.endpoint", f"the EDR's endpoint is refused: {exc.reason}") from exc
    client = services.client.client
    upstream = await client.send(client.build_request("GET", address["endpoint"], headers={"Authorization": token}),
                                 stream=True)
    if upstream.status_code >= 400:
        await upstream.aread()
        await upstream.aclose()
        raise InvalidRequest("dataplane", f"the provider's data plane answered HTTP {upstream.status_code}: "
                                          f"{upstream.text[:300]}")
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in (row.asset_id or transfer_id))
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if upstream.headers.get("content-length"):
        headers["Content-Length"] = upstream.headers["content-length"]
    return StreamingResponse(upstream.aiter_raw(), media_type=upstream.headers.get("content-type",
                             "application/octet-stream"), headers=headers, background=BackgroundTask(upstream.aclose))
