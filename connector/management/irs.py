"""``/management/irs/jobs``: traversal jobs with the Item Relationship Service's paths and shapes.

So clients written for IRS (Trace-X and the like) can use the connector directly:

- ``POST /management/irs/jobs`` a RegisterJob → 201 ``{"id"}``; 400 names the field; 404 when
  ``key.bpn`` is ours and we hold no such part, or when no connector is known for ``key.bpn``;
- ``GET /management/irs/jobs/{id}?returnUncompletedJob=true`` → 200 with the item graph when the
  job is done, 206 with what it has found so far while it runs (without it when false);
- ``PUT /management/irs/jobs/{id}`` cancels → 200 with the job; 400 if it has already ended;
- ``GET /management/irs/jobs?states=&page=&size=`` → a page of ``{id, state, startedOn, completedOn}``;
- ``GET /management/irs/jobs/{id}/tree.html`` → the picture of the tree (``provenance.render``);
- ``GET /management/irs/directory`` → which connector answers for which BPN.

Errors are IRS's ErrorResponse ``{statusCode, error, messages}``. The work is ``provenance.jobs``'s.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.config import MANAGEMENT_PATH
from connector.management.deps import Body, require_api_key
from connector.management.errors import ManagementRoute
from connector.provenance.answer import render_answer, render_job
from connector.provenance.job import DONE, STATES, JobInputError, iso, read_register_job
from connector.provenance.jobs import JobService
from connector.provenance.render import tree_html
from connector.services.errors import ServiceError

# ManagementRoute renders a refused X-Api-Key as the rest of the management API does
router = APIRouter(prefix=MANAGEMENT_PATH + "/irs", dependencies=[Depends(require_api_key)], tags=["irs"],
                   route_class=ManagementRoute)


def get_jobs(request: Request) -> JobService:
    return request.app.state.provenance_jobs


Jobs = Annotated[JobService, Depends(get_jobs)]


def irs_error(status: int, *messages: str) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    return JSONResponse({"statusCode": f"{status} {phrase.upper().replace(' ', '_')}", "error": phrase,
                         "messages": list(messages)}, status_code=status)


def _failure(exc: Exception) -> JSONResponse:
    if isinstance(exc, JobInputError):
        return irs_error(400, str(exc))
    if isinstance(exc, ServiceError):
        return irs_error(400 if exc.status == 409 else exc.status, *exc.reasons)
    raise exc


@router.post("/jobs")
async def register_job(body: Body, jobs: Jobs) -> JSONResponse:
    try:
        parameter = read_register_job(body)
        row = await run_in_threadpool(jobs.register, parameter)
    except (JobInputError, ServiceError) as exc:
        return _failure(exc)
    return JSONResponse({"id": row.id}, status_code=201)


@router.get("/jobs")
async def list_jobs(jobs: Jobs, states: Annotated[str | None, Query()] = None,
                    page: Annotated[int, Query(ge=0)] = 0, size: Annotated[int, Query(ge=1, le=1000)] = 20) -> JSONResponse:
    wanted = [s for s in (states or "").split(",") if s]
    for state in wanted:
        if state not in STATES:
            return irs_error(400, f"states: {state!r} is not a job state; expected one of {', '.join(STATES)}")
    rows, total = await run_in_threadpool(jobs.page, wanted, page, size)
    content = [{k: v for k, v in {"id": r.id, "state": r.state, "startedOn": iso(r.started_at),
                                  "completedOn": iso(r.completed_at)}.items() if v is not None} for r in rows]
    return JSONResponse({"content": content, "pageNumber": page, "pageSize": size, "totalElements": total,
                         "pageCount": (total + size - 1) // size})


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, request: Request, jobs: Jobs,
                  returnUncompletedJob: Annotated[bool, Query()] = True) -> JSONResponse:  # noqa: N803 (IRS's name)
    try:
        row = await run_in_threadpool(jobs.get, job_id, with_result=returnUncompletedJob)
        if row.state in DONE and not returnUncompletedJob:  # it ended meanwhile: the graph after all
            row = await run_in_threadpool(jobs.get, job_id)
    except ServiceError as exc:
        return _failure(exc)
    done = row.state in DONE
    settings = request.app.state.services.settings
    answer = render_answer(row, done or returnUncompletedJob, (settings.bpn, settings.name))
    return JSONResponse(answer, status_code=200 if done else 206)


@router.put("/jobs/{job_id}")
async def cancel_job(job_id: str, jobs: Jobs) -> JSONResponse:
    try:
        row = await run_in_threadpool(jobs.cancel, job_id)
    except ServiceError as exc:
        return _failure(exc)
    return JSONResponse(render_job(row))


@router.get("/jobs/{job_id}/tree.html")
async def job_tree(job_id: str, request: Request, jobs: Jobs) -> Any:
    try:
        row = await run_in_threadpool(jobs.get, job_id)
    except ServiceError as exc:
        return _failure(exc)
    settings = request.app.state.services.settings
    answer = render_answer(row, True, (settings.bpn, settings.name))
    return HTMLResponse(tree_html(answer), status_code=200 if row.state in DONE else 206)


@router.get("/directory")
async def directory(jobs: Jobs) -> JSONResponse:
    return JSONResponse({"ownBpn": jobs.directory.own_bpn, "connectors": jobs.directory.entries()})
