"""A job as IRS answers it (``{job, relationships, shells, submodels, tombstones, bpns, nodes}``),
and an own part's globalAssetId from one of its local ids.

Shared by the IRS edge (``management/irs.py``) and the console (``web/provenance.py``), so the
JSON answer and the picture drawn from it are the same wherever they are read.
"""

from __future__ import annotations

from typing import Any

from connector.parts.registry import OWNER
from connector.provenance.job import JobParameter, iso
from connector.store.models import ProvenanceJob

LOCAL_ID_NAMES = ("van", "partInstanceId", "batchId", "jisNumber", "manufacturerPartId")


def render_job(row: ProvenanceJob) -> dict:
    parameter = JobParameter.from_row(row.parameter)
    job: dict[str, Any] = {
        "id": row.id, "globalAssetId": row.global_asset_id, "state": row.state,
        "createdOn": iso(row.created_at), "startedOn": iso(row.started_at), "lastModifiedOn": iso(row.updated_at),
        "completedOn": iso(row.completed_at), "parameter": {**parameter.to_irs(), "bpn": row.bpn},
        "summary": row.summary or {"asyncFetchedItems": {"completed": 0, "failed": 0, "running": 0}},
    }
    if row.exception:
        job["exception"] = {**row.exception, "exceptionDate": iso(row.exception.get("exceptionDate"))}
    return {k: v for k, v in job.items() if v is not None}


def render_answer(row: ProvenanceJob, with_graph: bool, own: tuple[str | None, str | None]) -> dict:
    answer: dict[str, Any] = {"job": render_job(row)}
    empty: dict[str, list[Any]] = {"relationships": [], "shells": [], "submodels": [], "tombstones": [], "bpns": [], "nodes": []}
    answer.update(row.result if (with_graph and row.result) else empty)
    bpn, name = own
    if bpn and name:  # our own name is the one we know for certain
        answer["bpns"] = [{**b, "manufacturerName": name} if b.get("manufacturerId") == bpn else b
                          for b in answer["bpns"]]
    return answer


def own_global_asset_id(registry: Any, part: str) -> str | None:
    """``part`` as given when it is a globalAssetId; else the globalAssetId of our own twin that has
    it as VIN, serial, batch, JIS or manufacturer part number; None when no twin has it."""
    if part.startswith("urn:"):
        return part
    for name in LOCAL_ID_NAMES:
        found = registry.lookup(OWNER, [{"name": name, "value": part}]).get("result") or []
        if found:
            return registry.shell(OWNER, found[0]).get("globalAssetId")
    return None
