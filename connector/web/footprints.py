"""Footprints: the PCFs we publish (and each one's signed document and what it replaced), those
received from suppliers (with the signer that verified), the CX-0136 exchanges both ways, and an
import of a JSON or CSV file whose refusal lists every problem at its row (or item) and field.

The work is ``services.footprints`` (read_upload, FootprintService.publish), ``services.pcf_client``
(received), ``services.pcf_exchange`` (requests) and ``services.rollups`` (the "Roll up" form:
a BOM in, each component's footprint, contribution and status out, optionally published): the
services ``/v3/pcf`` uses.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from connector.services.errors import InvalidRequest, ServiceError
from connector.services.footprints import FootprintRefused, read_upload, summary
from connector.web.render import redirect, render
from connector.web.routing import Admin, Form, Services, WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)
LIST_LIMIT = 200
FILE_LIMIT = 16 << 20
# "row 4, column declaredUnit: message" (CSV) or "[2]: pcf.declaredUnitOfMeasurement: message" (JSON)
CSV_PROBLEM = re.compile(r"^(row \d+), column ([^:]+): (.*)$", re.S)
JSON_PROBLEM = re.compile(r"^(\[\d+\]|\([a-z]+\)): ([^:\s]+): (.*)$", re.S)


def problem_view(text: str) -> dict:
    """One refusal split into where (row or item), field and what is wrong, for the table."""
    for pattern in (CSV_PROBLEM, JSON_PROBLEM):
        found = pattern.match(text)
        if found:
            return {"where": found.group(1), "field": found.group(2), "message": found.group(3)}
    where, _, rest = text.partition(": ")
    return {"where": where if rest else "", "field": "", "message": rest or text}


def _lists(services: Any) -> dict:
    published = [{**summary(r), "signed": isinstance(r.signed.get("proof"), (dict, list))}
                 for r in services.pcf.list(limit=LIST_LIMIT)]
    received = services.pcf_client.received() if services.pcf_client is not None else []
    exchanges = services.pcf_exchange.requests(None, LIST_LIMIT) if services.pcf_exchange is not None else []
    return {"published": published, "received": received[:LIST_LIMIT], "exchanges": exchanges}


def _page(request: Request, services: Any, *, status: int = 200, problems: list[dict] | None = None,
          error: str | None = None, form: dict | None = None, rollup: dict | None = None) -> Response:
    return render(request, "footprints.html", status=status, section="footprints", title="Footprints",
                  problems=problems or [], error=error, form=form or {}, rollup=rollup or {}, **_lists(services))


@router.get("/footprints")
async def footprints(request: Request, admin: Admin, services: Services) -> Response:
    return await run_in_threadpool(_page, request, services)


def _content(form: dict, file_field: str = "upload", text_field: str = "text",
             wanted: str = "a JSON or CSV file of footprints") -> tuple[bytes, bool]:
    """The file's bytes (or the pasted text) and whether it is a CSV."""
    upload = form.get(file_field)
    if isinstance(upload, UploadFile) and upload.filename:
        raw = upload.file.read(FILE_LIMIT + 1)
        named_csv = upload.filename.lower().endswith(".csv") or (upload.content_type or "").endswith("csv")
    else:
        text = form.get(text_field)
        raw = text.encode() if isinstance(text, str) else b""
        named_csv = False
    if len(raw) > FILE_LIMIT:
        raise InvalidRequest(file_field, f"the file is larger than {FILE_LIMIT >> 20} MiB", path=file_field)
    if not raw.strip():
        raise InvalidRequest(file_field, f"choose {wanted}, or paste the JSON", path=file_field)
    chosen = form.get("format")
    csv = named_csv if chosen in (None, "", "auto") else chosen == "csv"
    return raw, csv


@router.post("/footprints")
async def import_footprints(request: Request, form: Form, services: Services) -> Response:
    usage = form.get("policy") if isinstance(form.get("policy"), str) else None
    access = form.get("access_policy") if isinstance(form.get("access_policy"), str) else None

    def work() -> int:
        raw, csv = _content(form)
        pcf = services.pcf
        items = read_upload(raw, csv=csv, company_name=services.settings.name, bpn=services.settings.bpn,
                            now=pcf.clock())
        return len(pcf.publish(items, usage_policy=usage or None, access_policy=access or None))

    try:
        count = await run_in_threadpool(work)
    except ServiceError as exc:  # all or nothing: the form again, with every problem at its row and field
        shown = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        status = exc.status
        problems = [problem_view(p) for p in exc.problems] if isinstance(exc, FootprintRefused) else None
        error = None if problems is not None else "; ".join(exc.reasons)
        return await run_in_threadpool(lambda: _page(request, services, status=status, form=shown,
                                                     problems=problems, error=error))
    if count == 0:
        return redirect(request, "/ui/footprints", "Nothing new: these footprints are already published.", "info")
    return redirect(request, "/ui/footprints", f"{count} footprint{'s' if count != 1 else ''} signed and published.")


def _rollup_view(outcome: Any) -> dict:
    """The roll-up as the page's table: one row per component, the own emissions and the total."""
    from connector.pcf.document import number

    result = outcome.result
    lines = [{"component": ln.component.product_id, "supplier": ln.component.supplier_bpn,
              "quantity": number(ln.component.quantity), "unit": ln.component.unit, "footprint": ln.footprint_id,
              "pcf": None if ln.pcf is None else number(ln.pcf),
              "contribution": None if ln.contribution is None else number(ln.contribution),
              "status": ln.status, "reason": ln.reason} for ln in result.lines]
    return {"productId": result.bom.product_id, "productName": result.bom.product_name, "lines": lines,
            "own": number(result.bom.own_emissions), "total": number(result.total),
            "declaredUnit": result.bom.declared_unit, "failed": len(result.failed), "published": outcome.published}


@router.post("/footprints/rollup")
async def rollup(request: Request, form: Form, services: Services) -> Response:
    """Roll a BOM up (as ``POST /v3/pcf/rollups``) and show the result under the form."""
    from connector.pcf.rollup import BomError, parse_bom
    from connector.services.rollups import roll_up_bom

    shown = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    publish, allow_missing = form.get("publish") == "on", form.get("allow_missing") == "on"
    try:
        raw, _ = _content(form, "bom_upload", "bom", wanted="a BOM (JSON file)")
        try:
            bom = parse_bom(json.loads(raw))
        except BomError as exc:
            raise InvalidRequest("rollup.bom", f"the BOM: {exc}", path=exc.path) from None
        except ValueError as exc:
            raise InvalidRequest("rollup.bom", f"the BOM is not JSON ({exc})", path="bom") from None
        outcome = await roll_up_bom(services, bom, publish=publish, allow_missing=allow_missing,
                                    usage_policy=form.get("policy") or None,
                                    access_policy=form.get("access_policy") or None)
    except ServiceError as exc:
        status, error = exc.status, "; ".join(exc.reasons)
        return await run_in_threadpool(lambda: _page(request, services, status=status,
                                                     rollup={"form": shown, "error": error}))
    return await run_in_threadpool(lambda: _page(request, services,
                                                 rollup={"form": shown, "result": _rollup_view(outcome)}))


def _detail(services: Any, footprint_id: str) -> dict:
    row = services.pcf.get(footprint_id)
    view = summary(row)
    preceding = []
    for old in view["precedingPfIds"] or []:
        try:
            preceding.append({"id": old, "known": True, "status": services.pcf.get(old).status})
        except ServiceError:
            preceding.append({"id": old, "known": False, "status": None})
    proofs = row.signed.get("proof")
    proofs = proofs if isinstance(proofs, list) else [proofs] if isinstance(proofs, dict) else []
    return {"fp": view, "document": row.signed, "preceding": preceding, "proofs": proofs}


@router.get("/footprints/{footprint_id}")
async def footprint(footprint_id: str, request: Request, admin: Admin, services: Services) -> Response:
    data = await run_in_threadpool(_detail, services, footprint_id)
    return render(request, "footprint.html", section="footprints", title=f"Footprint of {data['fp']['productId']}",
                  **data)
