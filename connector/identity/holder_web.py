"""The holder's HTTP edge for DCP issuance, and its background renewal.

``POST <Credential Service base>/credentials`` (the base is the ``CredentialService`` entry of our
DID document, ``<public_url>/api/dcp``): an issuer delivers a CredentialMessage with its
self-issued token; :func:`connector.identity.holder.store_delivery` checks it and stores the
credentials. Answers: 200 ``{"stored": [ids]}`` (or ``{"rejected": reason}`` for a REJECTED
message), 400/401/403 ``{"error": code, "reason": ...}``; nothing is stored on a refusal.

With ``[identity] credential_renewal_days`` > 0, :class:`RenewalLoop` asks the issuers for fresh
credentials that many days before the held ones expire, every ``credential_check_seconds``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .bpn_directory import BpnDirectory
from .credentials import MEMBERSHIP, StatusLists
from .dcp import ReplayCache, TokenIds, create_presentation
from .dcp_messages import CREDENTIAL_SERVICE_PATH
from .holder import CredentialRenewal, DeliveryRefused, store_delivery
from .wallet import LocalIdentity

log = logging.getLogger("pontis.identity")
STORAGE_PATH = CREDENTIAL_SERVICE_PATH + "/credentials"


def holder_client(settings: Any, guard: Any, *urls: str | None) -> httpx.Client:
    """The guarded client for issuers and the BPN directory: the configured ones count as known servers."""
    from connector.services.ssrf import origin_of
    from connector.services.transport import sync_client

    extra = {o for o in (origin_of(u) for u in urls if u) if o}
    return sync_client(dataclasses.replace(guard, known=guard.known | extra), timeout=10.0)


def storage_router(settings: Any, identity: LocalIdentity | None, *, replay: TokenIds | None = None,
                   clock: Callable[[], float] = time.time) -> APIRouter:
    router = APIRouter(tags=["identity"])
    if identity is None or not settings.participant_id.startswith("did:web:"):
        return router
    config = settings.identity
    status_lists = StatusLists(identity.resolver, ttl_seconds=config.status_list_cache_seconds)
    seen = replay if replay is not None else ReplayCache()

    def receive_credentials(body: Any, authorization: str | None) -> JSONResponse:
        try:
            delivery = store_delivery(identity, body, authorization, trusted_issuers=config.trusted_issuers,
                                      status_lists=status_lists, now=datetime.fromtimestamp(clock(), UTC),
                                      replay=seen, leeway_seconds=config.leeway_seconds)
        except DeliveryRefused as exc:
            log.warning("credential delivery refused (%s): %s", exc.code, exc.reason)
            return JSONResponse({"error": exc.code, "reason": exc.reason}, status_code=exc.status)
        if delivery.status == "REJECTED":
            return JSONResponse({"rejected": delivery.reason})
        return JSONResponse({"stored": [c.id for c in delivery.stored]})

    async def credentials(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "malformed", "reason": "the body is not JSON (expected a CredentialMessage)"},
                                status_code=400)
        return await anyio.to_thread.run_sync(receive_credentials, body, request.headers.get("authorization"))

    router.add_api_route(STORAGE_PATH, credentials, methods=["POST"], include_in_schema=False)
    return router


class RenewalLoop:
    """Runs :class:`CredentialRenewal` every ``every`` seconds in a thread (its HTTP calls block)."""

    def __init__(self, renewal: CredentialRenewal, every: float, clock: Callable[[], float] = time.time) -> None:
        self.renewal = renewal
        self.every = every
        self.clock = clock
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await anyio.to_thread.run_sync(self.renewal.run_once, datetime.fromtimestamp(self.clock(), UTC))
            except Exception:  # a bug must not end renewal for the life of the process
                log.exception("credential renewal pass failed")
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.every)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()


def renewal_from_settings(settings: Any, identity: LocalIdentity | None, guard: Any) -> RenewalLoop | None:
    config = settings.identity
    if identity is None or config.credential_renewal_days <= 0 or not settings.participant_id.startswith("did:web:"):
        return None
    issuers = [_issuer_base(d) for d in config.trusted_issuers]
    renewal = CredentialRenewal(identity, holder_client(settings, guard, *issuers),
                                margin=timedelta(days=config.credential_renewal_days))
    return RenewalLoop(renewal, config.credential_check_seconds)


def directory_from_settings(settings: Any, identity: LocalIdentity | None, guard: Any) -> BpnDirectory | None:
    config = settings.identity
    if identity is None or not config.bpn_directory_url:
        return None

    def presentation() -> str:
        """Our MembershipCredential only: the directory needs nothing else (BDRS asks no more)."""
        now = int(time.time())
        identity.wallet.refresh()
        membership = [e["jwt"] for e in identity.wallet.entries
                      if MEMBERSHIP in (e.get("type") or []) and isinstance(e.get("jwt"), str)]
        return create_presentation(identity, config.bpn_directory_url, f"urn:uuid:{uuid.uuid4()}", now=now, ttl=300,
                                   credentials=membership)

    return BpnDirectory(config.bpn_directory_url, holder_client(settings, guard, config.bpn_directory_url),
                        presentation, ttl_seconds=config.bpn_directory_cache_seconds)


def _issuer_base(did: str) -> str | None:
    from .did import IdentityError, did_web_base_url

    try:
        return did_web_base_url(did) if did.startswith("did:web:") else None
    except IdentityError:
        return None
