"""The HTTP edge of Gaia-X: our certificate chain (the ``x5u`` of our Gaia-X key) at
``/.well-known/x509CertificateChain.pem``, and our stored credentials at
``/gaiax/credentials/<name>.json`` (``application/vc+jwt``), so that the ids in our credentials
resolve. Public and unauthenticated, like a did:web document."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from connector.store.db import Database

from . import store
from .credentials import CREDENTIALS_PATH
from .keys import CHAIN_PATH, GaiaxKey, load_gaiax_key

log = logging.getLogger("pontis.gaiax")


def chain_url(settings: Any) -> str:
    return settings.public_url + CHAIN_PATH


def gaiax_key(settings: Any) -> GaiaxKey:
    return load_gaiax_key(settings.gaiax.key_file, settings.participant_id, chain_url(settings))


def gaiax_method(settings: Any) -> dict[str, Any]:
    """Our Gaia-X verification method for the DID document."""
    return gaiax_key(settings).verification_method()


def gaiax_router(settings: Any, db: Database) -> APIRouter:
    router = APIRouter(tags=["gaiax"])
    if getattr(settings, "gaiax", None) is None:
        return router
    chain_file = Path(settings.gaiax.chain_file)
    base = settings.public_url

    @router.get(CHAIN_PATH, include_in_schema=False)
    def certificate_chain() -> Response:
        try:
            pem = chain_file.read_bytes()
        except OSError:  # said once per request, in the log, without a 500
            log.error("[gaiax] chain_file %s cannot be read; `connector gaiax init` makes one", chain_file)
            return Response("no certificate chain is configured", status_code=404, media_type="text/plain")
        return Response(pem, media_type="application/x-pem-file", headers={"Cache-Control": "max-age=60"})

    @router.get(CREDENTIALS_PATH + "/{name}", include_in_schema=False)
    def credential(name: str) -> Response:
        found = store.by_id(db, f"{base}{CREDENTIALS_PATH}/{name}")
        if found is None:
            return Response(status_code=404)
        return Response(found.jwt, media_type="application/vc+jwt")

    return router
