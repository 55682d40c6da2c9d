"""Assets: the list, a form to publish one (a document stored in the connector, an uploaded file,
or an HTTP backend), and delete. Writes go through the same service the management API uses."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from connector.services.definitions import AssetInput
from connector.services.errors import InvalidRequest, ServiceError
from connector.services.policy_dry_run import offering
from connector.services.queries import QuerySpec
from connector.web.peers import known_peers
from connector.web.render import redirect, render
from connector.web.routing import Admin, Form, Services, WebRoute, definitions

router = APIRouter(route_class=WebRoute, include_in_schema=False)
EDC = "https://w3id.org/edc/v0.0.1/ns/"
DCT = "http://purl.org/dc/terms/"
KINDS = {"document": "a JSON document stored in the connector", "file": "an uploaded file, served by our data plane",
         "http": "an HTTP backend the data plane proxies"}
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
LIST_LIMIT = 500
DOCUMENT_LIMIT = 16 << 20  # a stored document lives in the database row; files go to files_dir


def _text(form: dict, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _upload(form: dict, name: str) -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def _document(form: dict, uploaded: UploadFile | None) -> Any:
    raw = uploaded.file.read(DOCUMENT_LIMIT + 1).decode("utf-8", "replace") if uploaded else _text(form, "document")
    if len(raw) > DOCUMENT_LIMIT:
        raise InvalidRequest("document", f"document: larger than {DOCUMENT_LIMIT >> 20} MiB; publish it as a file",
                             path="document")
    if not raw:
        raise InvalidRequest("document", "document: paste the JSON document or choose a .json file", path="document")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidRequest("document", f"document: not valid JSON ({exc})", path="document") from exc


def _stage_file(files_dir: str | None, asset_id: str, uploaded: UploadFile | None) -> tuple[str, Path]:
    """The file's path under files_dir, and a staged copy beside it; it takes its place only once
    the asset is stored, so a refused asset never overwrites or leaves a file."""
    if not files_dir:
        raise InvalidRequest("file", "file: this connector has no [dataplane] files_dir in its config, so it cannot "
                                     "serve files; add one and restart, or publish a document instead", path="file")
    if uploaded is None:
        raise InvalidRequest("file", "file: choose the file to publish", path="file")
    relative = Path(SAFE_NAME.sub("_", asset_id)) / (SAFE_NAME.sub("_", uploaded.filename or "") or "data")
    target = Path(files_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.{secrets.token_hex(6)}.upload")
    with staged.open("wb") as out:  # streamed: a large file never sits in memory whole
        shutil.copyfileobj(uploaded.file, out, 1 << 20)
    return str(relative), staged


def asset_view(row: Any) -> dict:
    props = row.properties or {}
    address = row.data_address or {}
    where = {"PontisDocument": "document in the connector", "PontisFile": f"file {address.get('path', '')}",
             "HttpData": address.get("baseUrl", "")}.get(str(address.get("type")), address.get("type", ""))
    return {"id": row.id, "title": props.get(DCT + "title") or props.get(EDC + "name") or "",
            "description": props.get(DCT + "description") or "", "type": address.get("type", "?"), "where": where,
            "created": row.created_at}


@router.get("/assets")
async def assets(request: Request, admin: Admin, services: Services) -> Response:
    rows = await run_in_threadpool(definitions(services).assets, QuerySpec(limit=LIST_LIMIT))
    return render(request, "assets.html", section="assets", title="Assets", assets=[asset_view(r) for r in rows],
                  kinds=KINDS, form={}, error=None, files_dir=services.settings.dataplane.files_dir)


@router.post("/assets")
async def create_asset(request: Request, form: Form, services: Services) -> Response:
    kind = _text(form, "kind")
    asset_id = _text(form, "id")
    staged: Path | None = None
    try:
        if not asset_id:
            raise InvalidRequest("id", "id: give the asset an id, e.g. pcf-NG-WC-400", path="id")
        if kind not in KINDS:
            raise InvalidRequest("kind", f"kind: expected one of {', '.join(KINDS)}", path="kind")
        uploaded = _upload(form, "upload")
        content_type = _text(form, "content_type")
        if kind == "document":
            document = await run_in_threadpool(_document, form, uploaded)
            address: dict = {"type": "PontisDocument", "document": document,
                             "contentType": content_type or "application/json"}
        elif kind == "file":
            path, staged = await run_in_threadpool(_stage_file, services.settings.dataplane.files_dir, asset_id,
                                                   uploaded)
            address = {"type": "PontisFile", "path": path,
                       "contentType": content_type or (uploaded.content_type if uploaded else None)
                       or "application/octet-stream"}
        else:
            base = _text(form, "base_url")
            if not base.startswith(("http://", "https://")):
                raise InvalidRequest("base_url", "base URL: expected the backend's http(s) URL", path="base_url")
            address = {"type": "HttpData", "baseUrl": base}
        properties = {DCT + "title": _text(form, "title") or asset_id}
        if _text(form, "description"):
            properties[DCT + "description"] = _text(form, "description")
        if content_type:
            properties[EDC + "contenttype"] = content_type
        stored = False
        try:
            await run_in_threadpool(definitions(services).create_asset,
                                    AssetInput(id=asset_id, properties=properties, data_address=address))
            stored = True
        finally:
            if staged is not None:  # stored: the file takes its place; refused: it goes
                if stored:
                    staged.replace(Path(str(services.settings.dataplane.files_dir)) / address["path"])
                else:
                    staged.unlink(missing_ok=True)
    except ServiceError as exc:
        rows = await run_in_threadpool(definitions(services).assets, QuerySpec(limit=LIST_LIMIT))
        shown = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        return render(request, "assets.html", status=400, section="assets", title="Assets",
                      assets=[asset_view(r) for r in rows], kinds=KINDS, form=shown,
                      error={"path": exc.path, "text": "; ".join(exc.reasons)},
                      files_dir=services.settings.dataplane.files_dir)
    return redirect(request, "/ui/assets", f"Asset {asset_id} published.")


def _asset_page_data(services: Services, asset_id: str, explain_for: str) -> dict:
    service = definitions(services)
    row = service.asset(asset_id)
    with services.db.read() as session:
        offered_by = offering(session, row)
    explained, explain_error = None, None
    if explain_for:
        try:
            explained = services.policy_dry_run.offer(asset_id, explain_for)
        except ServiceError as exc:
            explain_error = "; ".join(exc.reasons)
    return {"row": row, "view": asset_view(row), "offered_by": offered_by, "explained": explained,
            "explain_error": explain_error}


@router.get("/assets/{asset_id}")
async def asset(asset_id: str, request: Request, admin: Admin, services: Services, explain_for: str = "") -> Response:
    """One asset, who offers it, and why a partner would (not) see it in our catalog."""
    data = await run_in_threadpool(_asset_page_data, services, asset_id, explain_for.strip())
    return render(request, "asset.html", section="assets", title=f"Asset {asset_id}", explain_for=explain_for,
                  peers=known_peers(services), **data)


@router.post("/assets/{asset_id}/delete")
async def delete_asset(asset_id: str, request: Request, form: Form, services: Services) -> Response:
    await run_in_threadpool(definitions(services).delete_asset, asset_id)
    return redirect(request, "/ui/assets", f"Asset {asset_id} deleted.")
