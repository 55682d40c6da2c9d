"""What the data plane serves for part data: the registry, and the submodels of every twin, signed.

Two data-address types, registered with the data plane's ``Sources`` by the container:

- ``PontisRegistry``: the registry asset; the consumer's path below ``/api/public`` is a registry
  path (``registry_api``), answered for the BPN the provider verified for the transfer.
- ``PontisSubmodels`` (``aspect``: the aspect URN): one asset per aspect type; the path is
  ``parts/{globalAssetId}/submodel`` (``/$value`` may follow), the payload that twin holds for that
  aspect, with our eddsa-jcs-2022 proof when we have a key. A twin the caller's BPN may not see is
  answered as an unknown one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from anyio import to_thread
from sqlmodel import select

from connector.parts.models import normal_id
from connector.parts.registry import Registry, Viewer, may_read_all
from connector.parts.registry_api import answer, result
from connector.services.dataflow.sources import DataRequest, Reply
from connector.store.models import PartTwin, TwinSubmodel

log = logging.getLogger("pontis.registry")

REGISTRY_SOURCE, SUBMODEL_SOURCE = "PontisRegistry", "PontisSubmodels"
HIDDEN = object()  # a twin that exists but is not shared with the caller
MAX_BODY = 1 << 20


def _reply(status: int, body: Any) -> Reply:
    if body is None:
        return Reply(status, [("content-length", "0")], b"")
    raw = json.dumps(body, ensure_ascii=False).encode()
    return Reply(status, [("content-type", "application/json"), ("content-length", str(len(raw)))], raw)


def viewer_of(request: DataRequest, owner_bpn: str | None) -> Viewer:
    """The caller as the data plane verified it (the transfer's consumer claims), never a header."""
    bpn = (request.consumer or {}).get("bpn")
    return Viewer(bpn, owner=bool(owner_bpn) and bpn == owner_bpn)


class PartSources:
    def __init__(self, registry: Registry, owner_bpn: str | None, signer: Callable[[dict], dict] | None,
                 dataspace: str = "catena-x") -> None:
        from connector.factoryx import profiles_for

        self.registry = registry
        self.owner_bpn = owner_bpn
        self.signer = signer
        # [profile] dataspace: factory-x answers /submodel with an IDTA Submodel (connector.factoryx)
        self.dataspace = dataspace
        self.profiles = profiles_for(dataspace)
        # Factory-X ADR 009: a twin the caller may not see is a 403 saying why; Catena-X (and "both",
        # whose Catena-X clients renegotiate on a 403) answer it as unknown, 404
        self.granular = dataspace == "factory-x"

    def install(self, sources: Any) -> None:
        sources.handlers[REGISTRY_SOURCE] = self.serve_registry
        sources.handlers[SUBMODEL_SOURCE] = self.serve_submodel

    async def serve_registry(self, address: Mapping[str, Any], request: DataRequest) -> Reply:
        body = await request.read(MAX_BODY, "a registry request body") if request.method == "POST" else b""
        viewer = viewer_of(request, self.owner_bpn)
        status, doc = await to_thread.run_sync(lambda: answer(self.registry, viewer, request.method, request.path,
                                                              request.query, body, writable=False,
                                                              profiles=self.profiles, granular=self.granular))
        return _reply(status, doc)

    async def serve_submodel(self, address: Mapping[str, Any], request: DataRequest) -> Reply:
        aspect = str(address.get("aspect") or "")
        now = self.registry.clock()
        if request.method not in ("GET", "HEAD"):
            return _reply(405, result(405, f"a submodel is read with GET, not {request.method}", now))
        parts = [p for p in request.path.split("/") if p]
        value_only = parts[-1:] == ["$value"] or self.dataspace != "factory-x"
        if parts[-1:] == ["$value"]:
            parts = parts[:-1]
        if len(parts) != 3 or parts[0] != "parts" or parts[2] != "submodel":
            return _reply(404, result(404, f"/{request.path}: expected parts/{{globalAssetId}}/submodel", now))
        part = unquote(parts[1])
        viewer = viewer_of(request, self.owner_bpn)
        payload = await to_thread.run_sync(self._payload, part, aspect, viewer)
        if payload is HIDDEN and self.granular:
            log.info("submodel %s of part %s refused to %s: not shared", aspect, part, viewer.bpn)
            return _reply(403, result(403, f"part {part}: its twin is not shared with "
                                           f"{viewer.bpn or 'a caller without a verified BPN'} (none of its "
                                           "specificAssetIds names that BPN in externalSubjectId)", now))
        if not isinstance(payload, dict):
            log.info("submodel %s of part %s not served to %s", aspect, part, (request.consumer or {}).get("bpn"))
            return _reply(404, result(404, f"part {part}: no {aspect.rsplit('#', 1)[-1]} submodel here "
                                           "(unknown part, no such aspect, or not shared with you)", now))
        if not value_only:  # Factory-X ADR 008: GetSubmodel answers the Submodel itself
            from connector.factoryx.submodel import as_submodel

            reply = _reply(200, as_submodel(payload, f"{part}#{aspect}", aspect))
            return Reply(200, reply.headers, b"") if request.method == "HEAD" else reply
        if self.signer is not None and "proof" not in payload:
            payload = await to_thread.run_sync(self.signer, payload)
        reply = _reply(200, payload)
        return Reply(200, reply.headers, b"") if request.method == "HEAD" else reply

    def _payload(self, part: str, aspect: str, viewer: Viewer) -> dict | object | None:
        """The twin's payload for ``aspect``; None when there is none, HIDDEN when the viewer may not see it."""
        with self.registry.db.read() as session:
            twin = session.exec(select(PartTwin).where(PartTwin.global_key == normal_id(part))).first()
            if twin is None:
                return None
            if not may_read_all(twin.descriptor, viewer):
                return HIDDEN
            row = session.exec(select(TwinSubmodel).where(TwinSubmodel.twin_id == twin.id,
                                                          TwinSubmodel.semantic_id == aspect)).first()
            return row.payload if row is not None else None
