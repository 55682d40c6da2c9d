"""The AAS Registry v3 paths, served the same way to peers (data plane) and to staff (management API).

``answer`` maps one request (method, path below the registry's base, query, body) to a status and
a JSON body; failures come out as the AAS ``Result`` (``{"messages": [{messageType, code, text,
timestamp}]}``). Peers get the read paths only: writes are for the owner.
"""

from __future__ import annotations

import difflib
import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from connector.parts.registry import Hidden, Registry, Viewer, unb64url
from connector.services.errors import InvalidRequest, NotFound, ServiceError

log = logging.getLogger("pontis.registry")

PROFILES = ["https://admin-shell.io/aas/API/3/1/AssetAdministrationShellRegistryServiceSpecification/SSP-001",
            "https://admin-shell.io/aas/API/3/1/DiscoveryServiceSpecification/SSP-001"]


class MethodRefused(ServiceError):
    status = 405


def result(status: int, text: str, now_ms: int) -> dict:
    stamp = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    kind = "Error" if status >= 400 else "Info"
    return {"messages": [{"messageType": kind, "code": str(status), "text": text, "timestamp": stamp}]}


def _int(query: dict[str, list[str]], name: str) -> int | None:
    values = query.get(name)
    if not values:
        return None
    try:
        return int(values[-1])
    except ValueError:
        raise InvalidRequest("registry.query", f"{name}: expected an integer, got {values[-1]!r}", path=name) from None


def _json(body: bytes, field: str = "body") -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("registry.body", f"{field}: not valid JSON ({exc})", path=field) from None


def _asset_ids(values: list[str]) -> list[dict]:
    """The look-up's links: each ``assetIds`` value base64url-encoded JSON (AAS v3), or, as older
    clients send it, the JSON itself (an object, or an array of them)."""
    links: list = []
    for i, value in enumerate(values):
        text = value.strip()
        raw = _json(text.encode() if text[:1] in "[{" else unb64url(value, f"assetIds[{i}]").encode(), f"assetIds[{i}]")
        for link in raw if isinstance(raw, list) else [raw]:
            if isinstance(link, dict):  # a SpecificAssetId may come whole; its externalSubjectId is not a filter
                link = {k: v for k, v in link.items() if k != "externalSubjectId"}
            links.append(link)
    return links


def _allowed(method: str, allowed: tuple[str, ...], writable: bool, path: str) -> None:
    if method not in allowed:
        raise MethodRefused("registry.method", f"{method} /{path}: allowed here: {', '.join(allowed)}")
    if method not in ("GET", "HEAD") and not writable and not path.startswith("lookup/"):
        raise MethodRefused("registry.read-only", f"{method} /{path}: the registry is read-only for peers; "
                                                  "its owner writes through the management API")


def answer(registry: Registry, viewer: Viewer, method: str, path: str, query: str, body: bytes, *,
           writable: bool, profiles: list[str] | None = None, granular: bool = False) -> tuple[int, Any]:
    """(status, JSON body or None) for one registry request; every refusal is a ``Result`` body.
    ``profiles``: what ``/description`` announces (connector.factoryx.profiles_for; default Catena-X's).
    ``granular`` (Factory-X ADR 009): a shell the viewer may not see is a 403 saying why, not a 404."""
    try:
        return _route(registry, viewer, method, path.strip("/"), parse_qs(query, keep_blank_values=True), body, writable,
                      profiles or PROFILES)
    except Hidden as exc:
        status, text = (403, "; ".join(exc.reasons)) if granular else (404, exc.unknown)
        log.info("registry %s /%s for %s refused (%d): %s", method, path, viewer.bpn, status, "; ".join(exc.reasons))
        return status, result(status, text, registry.clock())
    except ServiceError as exc:
        who = "owner" if viewer.owner else viewer.bpn
        log.info("registry %s /%s for %s refused (%d): %s", method, path, who, exc.status, "; ".join(exc.reasons))
        return exc.status, result(exc.status, "; ".join(exc.reasons), registry.clock())


QUERY = ("limit", "cursor", "assetIds", "createdAfter", "assetKind")


def _created_after(query: dict[str, list[str]]) -> int | None:
    values = query.get("createdAfter")
    if not values:
        return None
    try:
        when = datetime.fromisoformat(values[-1].replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest("registry.query", f"createdAfter: expected an RFC 3339 date-time like "
                                               f"2026-11-07T08:00:00Z, got {values[-1]!r}", path="createdAfter") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _route(registry: Registry, viewer: Viewer, method: str, path: str, query: dict, body: bytes,
           writable: bool, profiles: list[str]) -> tuple[int, Any]:
    for name in query:
        if name not in QUERY:
            close = difflib.get_close_matches(name, QUERY, n=1, cutoff=0.5)
            hint = f"closest: {close[0]}" if close else f"known: {', '.join(QUERY)}"
            raise InvalidRequest("registry.query", f"{name}: unknown query parameter ({hint})", path=name)
    parts = [unquote(p) for p in path.split("/")] if path else []
    limit, cursor = _int(query, "limit"), (query.get("cursor") or [None])[-1]
    if parts == ["description"]:
        _allowed(method, ("GET",), writable, path)
        return 200, {"profiles": profiles}
    if parts == ["lookup", "shells"]:
        _allowed(method, ("GET",), writable, path)
        return 200, registry.lookup(viewer, _asset_ids(query.get("assetIds", [])), limit, cursor,
                                    created_after=_created_after(query))
    if len(parts) == 3 and parts[:2] == ["lookup", "shells"]:  # Discovery SSP-001: a shell's asset links
        _allowed(method, ("GET",), writable, path)
        shown = registry.shell(viewer, unb64url(parts[2], "aasIdentifier"))
        links = [{"name": "globalAssetId", "value": shown["globalAssetId"]}] if shown.get("globalAssetId") else []
        return 200, links + list(shown.get("specificAssetIds") or [])
    if parts == ["lookup", "shellsByAssetLink"]:
        _allowed(method, ("POST",), writable, path)
        return 200, registry.lookup(viewer, _json(body), limit, cursor)
    shaped = parts[:1] == ["shell-descriptors"] and len(parts) <= 4 and parts[2:3] in ([], ["submodel-descriptors"])
    if not shaped:
        raise NotFound("registry.path", f"/{path}: not a registry path; expected shell-descriptors[/{{id}}"
                                        "[/submodel-descriptors[/{id}]]], lookup/shells[/{id}], lookup/shellsByAssetLink "
                                        "or description")
    if len(parts) == 1:
        _allowed(method, ("GET", "POST"), writable, path)
        if method == "GET":
            return 200, registry.shells(viewer, limit, cursor, created_after=_created_after(query),
                                        asset_kind=(query.get("assetKind") or [None])[-1])
        doc = _json(body)
        return 201, registry.create_shell(doc)
    aas_id = unb64url(parts[1], "aasIdentifier")
    if len(parts) == 2:
        _allowed(method, ("GET", "PUT", "DELETE"), writable, path)
        if method == "GET":
            return 200, registry.shell(viewer, aas_id)
        if method == "PUT":
            created = registry.put_shell(aas_id, _json(body))
            return (201, registry.shell(viewer, aas_id)) if created else (204, None)
        registry.delete_shell(aas_id)
        return 204, None
    if len(parts) == 3:
        _allowed(method, ("GET", "POST"), writable, path)
        if method == "GET":
            return 200, registry.submodels(viewer, aas_id, limit, cursor)
        doc = _json(body)
        registry.put_submodel(aas_id, doc)
        return 201, registry.submodel(viewer, aas_id, doc["id"])
    submodel_id = unb64url(parts[3], "submodelIdentifier")
    _allowed(method, ("GET", "PUT", "DELETE"), writable, path)
    if method == "GET":
        return 200, registry.submodel(viewer, aas_id, submodel_id)
    if method == "PUT":
        created = registry.put_submodel(aas_id, _json(body), submodel_id)
        return (201, registry.submodel(viewer, aas_id, submodel_id)) if created else (204, None)
    registry.delete_submodel(aas_id, submodel_id)
    return 204, None
