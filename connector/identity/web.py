"""The HTTP edge of identity: our DID document, and an issuer's DID document and status list.

- ``GET /.well-known/did.json`` (or ``/<path>/did.json`` for a did:web with a path) serves this
  connector's DID document, built from its key file (Multikey and JsonWebKey methods, see
  :func:`connector.identity.did.build_did_document`) with the DSP "DID discovery" service
  entries and our DCP ``CredentialService`` (``<public_url>/api/dcp``, connector.identity.dcp_messages).
  ``did:web:localhost%3A8181`` resolves here as ``http://localhost:8181/.well-known/did.json``.
  Without a key file, or when the participant id is not a did:web, nothing is served.
- With ``identity.issuer_dir``, the issuer folder's published ``did.json`` and
  ``status-list.jwt`` (``application/vc+jwt``; its StatusList2021 twin ``status-list-2021.jwt`` at
  the status-list URL + ``-2021``, for ``vc11-sl2021/jwt`` credentials) are served at the paths its DID and status-list
  URL name; they are read per request, so ``connector issuer revoke`` takes effect at once.

All of these are public and unauthenticated, like any did:web.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from .dcp_messages import credential_service_entry
from .did import did_web_path, dsp_services
from .issuer import published
from .wallet import LocalIdentity

log = logging.getLogger("pontis.identity")
_CACHE = {"Cache-Control": "max-age=60"}


def did_router(settings: Any, identity: LocalIdentity | None) -> APIRouter:
    """Routes for ``settings`` (a :class:`connector.config.Settings`) and our identity, if any."""
    router = APIRouter(tags=["identity"])
    did = settings.participant_id
    if identity is not None and did.startswith("did:web:"):
        # with [gaiax], our Gaia-X key (P-256, x5u to the chain we serve) is published beside the others
        gaiax = getattr(settings, "gaiax", None)
        extra = []
        if gaiax is not None:
            from connector.gaiax.web import gaiax_method

            extra = [gaiax_method(settings)]
        document = identity.did_document([*dsp_services(did, settings.public_url, settings.dsp_url),
                                          credential_service_entry(did, settings.public_url)], extra)

        def own_did_document() -> Response:
            return JSONResponse(document, headers=_CACHE)

        router.add_api_route(did_web_path(did), own_did_document, methods=["GET"], include_in_schema=False)
    issuer_dir = getattr(settings.identity, "issuer_dir", None)
    if issuer_dir:
        issuer = published(issuer_dir)

        def issuer_did_document() -> Response:
            return JSONResponse(issuer.did_document(), headers=_CACHE)

        def issuer_status_list() -> Response:
            # no caching header: verifiers decide how long to trust a copy (their status TTL)
            return Response(issuer.status_list(), media_type="application/vc+jwt")

        def issuer_status_list_2021() -> Response:
            listed = issuer.status_list_2021()
            if listed is None:
                return JSONResponse({"error": "not_found", "reason": "this issuer has no StatusList2021 list yet"},
                                    status_code=404)
            return Response(listed, media_type="application/jwt")

        router.add_api_route(issuer.did_path, issuer_did_document, methods=["GET"], include_in_schema=False)
        router.add_api_route(issuer.status_path, issuer_status_list, methods=["GET"], include_in_schema=False)
        router.add_api_route(issuer.status_2021_path, issuer_status_list_2021, methods=["GET"],
                             include_in_schema=False)
        log.info("serving issuer %s at %s and its status list at %s", issuer.did, issuer.did_path, issuer.status_path)
    return router
