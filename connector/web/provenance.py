"""Provenance: start a traversal job (a part's globalAssetId or one of our own parts' ids, its
owner's BPN, down or up), the jobs and their states, and a job's tree.

The tree is the connector's own picture (``provenance.render.tree_html``, the one
``/management/irs/jobs/{id}/tree.html`` serves). It carries an inline ``<style>``, which the
console's CSP forbids, so it is served on its own route under /ui with its own CSP (inline styles,
nothing else: no script, no fetch, ``sandbox``) and shown in a sandboxed iframe; the job page also
lists the tombstones and their reasons as text.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from connector.provenance.answer import own_global_asset_id, render_answer
from connector.provenance.job import DONE, JobInputError, read_register_job
from connector.provenance.jobs import JobService
from connector.provenance.render import names_of, tree_html
from connector.services.errors import InvalidRequest, ServiceError
from connector.web.render import redirect, render
from connector.web.routing import Admin, Form, Services, WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)
LIST_SIZE = 50
# the picture only: its inline <style>, no script, no requests, framed by the console alone
TREE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"


def jobs_of(request: Request) -> JobService:
    return request.app.state.provenance_jobs


def _text(form: dict, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _register(jobs: JobService, services: Any, form: dict) -> str:
    """The job for the form's part, owner and direction; InvalidRequest names the form's field."""
    bpn = _text(form, "bpn") or services.settings.bpn or ""
    part = _text(form, "part")
    fields = {"key.globalAssetId": "part", "key.bpn": "bpn", "direction": "direction", "depth": "depth"}
    if part and bpn and jobs.directory.is_own(bpn):
        found = own_global_asset_id(services.parts.registry, part)
        if found is None:
            raise InvalidRequest("part", f"part: none of our own parts has {part!r} as its globalAssetId, VIN, "
                                         "serial, batch, JIS or manufacturer part number", path="part")
        part = found
    body: dict[str, Any] = {"key": {"globalAssetId": part, "bpn": bpn},
                            "direction": _text(form, "direction") or "downward"}
    depth = _text(form, "depth")
    if depth:
        if not depth.isdigit():
            raise InvalidRequest("depth", f"depth: expected a whole number, got {depth!r}", path="depth")
        body["depth"] = int(depth)
    try:
        parameter = read_register_job(body)
    except JobInputError as exc:
        field = fields.get(exc.field, exc.field)
        message = str(exc).split(": ", 1)[-1]
        raise InvalidRequest(field, f"{field}: {message}", path=field) from None
    try:
        return jobs.register(parameter).id
    except ServiceError as exc:  # an unknown part or owner: shown at the form's field, in its name
        if exc.path in fields:
            exc.reasons = [r.replace(f"{exc.path}:", f"{fields[exc.path]}:", 1) for r in exc.reasons]
            exc.path = fields[exc.path]
        raise


def _page(request: Request, services: Any, *, status: int = 200, form: dict | None = None,
          error: dict | None = None) -> Response:
    rows, total = jobs_of(request).page([], 0, LIST_SIZE)
    return render(request, "provenance.html", status=status, section="provenance", title="Provenance", jobs=rows,
                  total=total, form=form or {}, error=error, own_bpn=services.settings.bpn)


@router.get("/provenance")
async def provenance(request: Request, admin: Admin, services: Services) -> Response:
    return await run_in_threadpool(_page, request, services)


@router.post("/provenance")
async def start_job(request: Request, form: Form, services: Services) -> Response:
    try:
        job_id = await run_in_threadpool(_register, jobs_of(request), services, form)
    except ServiceError as exc:
        shown = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        status = exc.status if exc.status < 500 else 400
        error = {"path": exc.path, "text": "; ".join(exc.reasons)}
        return await run_in_threadpool(lambda: _page(request, services, status=status, form=shown, error=error))
    return redirect(request, f"/ui/provenance/{job_id}", "Traversal job started.")


def _answer(request: Request, services: Any, job_id: str) -> dict:
    row = jobs_of(request).get(job_id)
    return render_answer(row, True, (services.settings.bpn, services.settings.name))


@router.get("/provenance/{job_id}")
async def job(job_id: str, request: Request, admin: Admin, services: Services) -> Response:
    answer = await run_in_threadpool(_answer, request, services, job_id)
    state = answer["job"]["state"]
    return render(request, "provenance_job.html", section="provenance", title="Provenance job", job=answer["job"],
                  tombstones=answer.get("tombstones") or [], names=names_of(answer), done=state in DONE,
                  parts=len(answer.get("nodes") or []))


@router.get("/provenance/{job_id}/tree.html")
async def tree(job_id: str, request: Request, admin: Admin, services: Services) -> Response:
    answer = await run_in_threadpool(_answer, request, services, job_id)
    # set before WebRoute adds the console's headers (setdefault): these win for this answer only
    return HTMLResponse(tree_html(answer), headers={"Content-Security-Policy": TREE_CSP,
                                                    "X-Frame-Options": "SAMEORIGIN"})
