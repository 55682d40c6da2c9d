"""``/v3/pcf``: the company's carbon footprints (publish, list, get) and its requests to suppliers.

- ``POST /v3/pcf/footprints[?policy=ID&accessPolicy=ID]``: a JSON array (or one footprint) in
  any version the connector reads, or a CSV (``Content-Type: text/csv``, columns in
  ``connector.pcf.csvfile``). All or nothing: a refusal lists every problem, each naming the item
  (``[3]``) or row (``row 4, column declaredUnit``) and the field. Answers the stored footprints.
- ``GET /v3/pcf/footprints[?status=Active&productId=…&offset=&limit=]``, ``GET /v3/pcf/footprints/{id}``
  (with the signed document as served).
- ``POST /v3/pcf/requests`` ``{"supplier": BPN or DID, "productId": …, "mode": "auto|pull|async"}``:
  get a supplier's footprint through the data space (``services.pcf_client``); the answer says
  ``status`` ok, missing, denied or error, with the reason and the signed footprint.
- ``POST /v3/pcf/rollups[?publish=true&allowMissing=true&policy=ID&accessPolicy=ID]``, body the BOM
  (as ``connector pcf rollup --bom``): each component's footprint fetched concurrently, rolled up
  (``services.rollups``); answers what ``connector pcf rollup --json`` prints. 200 when every
  component is ok, or with ``allowMissing=true``; 422 (same body, each component's status and
  reason, nothing published) when one is missing, denied or in error. A bad BOM is 400 naming the field.
- ``GET /v3/pcf/received[?productId=…]``: the suppliers' footprints received and kept.
- ``GET /v3/pcf/exchanges[?role=supplier|customer]``: CX-0136 requests asked of us (and the
  updates we send) and asked by us, with who (the verified caller), state, attempts and error.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.management.deps import Body, Services, read_raw
from connector.management.errors import ManagementRoute, bad_request, entry
from connector.services.footprints import FootprintRefused, read_upload, summary

router = APIRouter(prefix="/v3/pcf", route_class=ManagementRoute, tags=["pcf"])


def _known(request: Request, *names: str) -> None:
    """Refuse a query parameter this path does not take, naming the closest it does."""
    import difflib

    for name in request.query_params:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            raise bad_request(name, f"unknown query parameter; {f'did you mean {close[0]!r}?' if close else ''} "
                                    f"expected {', '.join(names) or 'none'}".replace("  ", " "), request.query_params[name])


def _int(request: Request, name: str, default: int, top: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) > top:
        raise bad_request(name, f"expected a whole number from 0 to {top}", raw)
    return int(raw)


@router.post("/footprints")
async def publish(request: Request, services: Services) -> JSONResponse:
    _known(request, "policy", "accessPolicy")
    raw = await read_raw(request, services.settings.max_body_bytes * 16)  # a file of footprints, not a message
    csv = request.headers.get("content-type", "").split(";")[0].strip().lower() in ("text/csv", "application/csv")
    policy, access = request.query_params.get("policy"), request.query_params.get("accessPolicy")

    def work() -> list[dict]:
        pcf = services.pcf
        items = read_upload(bytes(raw), csv=csv, company_name=services.settings.name, bpn=services.settings.bpn,
                            now=pcf.clock())
        return [summary(row) for row in pcf.publish(items, usage_policy=policy, access_policy=access)]

    try:
        return JSONResponse(await run_in_threadpool(work))
    except FootprintRefused as exc:
        return JSONResponse([entry(p, 400, p.split(":", 1)[0]) for p in exc.problems], status_code=400)


@router.get("/footprints")
async def list_footprints(request: Request, services: Services) -> JSONResponse:
    _known(request, "status", "productId", "offset", "limit")
    status = request.query_params.get("status")
    if status not in (None, "Active", "Deprecated"):
        raise bad_request("status", "expected Active or Deprecated", status)
    offset, limit = _int(request, "offset", 0, 10**9), _int(request, "limit", 100, 1000)
    rows = await run_in_threadpool(lambda: services.pcf.list(status=status, offset=offset, limit=limit,
                                                             product_id=request.query_params.get("productId")))
    return JSONResponse([summary(row) for row in rows])


@router.get("/footprints/{footprint_id}")
async def get_footprint(footprint_id: str, services: Services) -> JSONResponse:
    row = await run_in_threadpool(services.pcf.get, footprint_id)
    return JSONResponse({**summary(row), "document": row.signed})


@router.post("/requests")
async def request_footprint(body: Body, services: Services) -> JSONResponse:
    if not isinstance(body, dict):
        raise bad_request("body", 'expected {"supplier": BPN or DID, "productId": ..., "mode"?: auto|pull|async}')
    for key in body:
        if key not in ("supplier", "productId", "mode", "timeoutSeconds"):
            raise bad_request(key, "unknown field; expected supplier, productId, mode or timeoutSeconds", body[key])
    supplier, product, mode = body.get("supplier"), body.get("productId"), body.get("mode", "auto")
    if not isinstance(supplier, str) or not supplier:
        raise bad_request("supplier", "the supplier's BPN (BPNL...) or participant id (DID) is required", supplier)
    if not isinstance(product, str) or not product:
        raise bad_request("productId", "the product's manufacturerPartId is required", product)
    if mode not in ("auto", "pull", "async"):
        raise bad_request("mode", "expected auto, pull or async", mode)
    timeout = body.get("timeoutSeconds", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 600:
        raise bad_request("timeoutSeconds", "expected a number of seconds from 1 to 600", timeout)
    outcome = await services.pcf_client.request(supplier, product, mode=mode, timeout=float(timeout))
    return JSONResponse(outcome.to_json())


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false")
    if raw not in ("true", "false"):
        raise bad_request(name, "expected true or false", raw)
    return raw == "true"


@router.post("/rollups")
async def rollup(request: Request, body: Body, services: Services) -> JSONResponse:
    from connector.pcf.rollup import BomError, parse_bom
    from connector.services.rollups import roll_up_bom

    _known(request, "publish", "allowMissing", "policy", "accessPolicy")
    publish, allow_missing = _flag(request, "publish"), _flag(request, "allowMissing")
    try:
        bom = parse_bom(body)
    except BomError as exc:
        raise bad_request(exc.path, str(exc).split(": ", 1)[-1]) from None
    outcome = await roll_up_bom(services, bom, publish=publish, allow_missing=allow_missing,
                                usage_policy=request.query_params.get("policy"),
                                access_policy=request.query_params.get("accessPolicy"))
    complete = allow_missing or not outcome.result.failed
    return JSONResponse(outcome.to_json(), status_code=200 if complete else 422)


@router.get("/received")
async def received(request: Request, services: Services) -> JSONResponse:
    _known(request, "productId")
    rows = await run_in_threadpool(services.pcf_client.received, request.query_params.get("productId"))
    return JSONResponse([{"footprintId": r.footprint_id, "supplierId": r.supplier_id, "supplierBpn": r.supplier_bpn,
                          "productId": r.product_id, "status": r.status, "signer": r.signer, "via": r.via,
                          "requestId": r.request_id, "receivedAt": r.received_at, "document": r.signed}
                         for r in rows])


@router.get("/exchanges")
async def exchanges(request: Request, services: Services) -> JSONResponse:
    _known(request, "role", "limit")
    role = request.query_params.get("role")
    if role not in (None, "supplier", "customer"):
        raise bad_request("role", "expected supplier or customer", role)
    rows = await run_in_threadpool(services.pcf_exchange.requests, role, _int(request, "limit", 100, 1000))
    return JSONResponse([{"role": r.role, "requestId": r.request_id, "counterpartyId": r.counterparty_id,
                          "counterpartyBpn": r.counterparty_bpn, "productId": r.product_id, "status": r.status,
                          "update": r.update, "legacy": r.legacy, "footprintId": r.footprint_id, "error": r.error,
                          "attempts": r.attempts, "createdAt": r.created_at, "updatedAt": r.updated_at}
                         for r in rows])
