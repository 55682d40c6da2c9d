"""``connector issuer serve``: the data-space issuer as a service (HTTP edge over the issuer folder).

For an issuer ``did:web:HOST:issuer`` (base ``https://HOST/issuer``) it serves:

- ``GET /issuer/did.json`` and the status list (as a connector with ``issuer_dir`` does);
- DCP issuance under ``/issuer/dcp`` (the ``IssuerService`` entry of its DID document):
  ``GET /metadata`` (IssuerMetadata, public); ``POST /credentials`` (a CredentialRequestMessage
  with the holder's self-issued token: 201 and ``Location: .../requests/<issuerPid>``, or 400/401/403
  with the reason); ``GET /requests/<issuerPid>`` (CredentialStatus, only to the holder that asked);
- the BPN-DID directory under ``/issuer/api/directory``: ``GET /bpn-directory`` answers the
  admitted holders' ``{BPN: DID}`` map, gzipped, to a caller presenting a ``vp+jwt`` with a
  MembershipCredential of this issuer (:mod:`connector.identity.bpn_directory`).

An accepted request is issued and delivered after the answer (a background task): the holder's
DID document names its ``CredentialService``; the CredentialMessage is POSTed to ``<that>/credentials``
with our self-issued token carrying the holder's write grant. Delivery that fails rejects the
request (its reason recorded, the credentials revoked). Outgoing calls go through the SSRF guard;
admitted holders' did:web hosts count as configured servers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
from fastapi import BackgroundTasks, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response

from .bpn_directory import DIRECTORY_PATH, DirectoryRefused, directory_body, verify_membership_presentation
from .dcp import ReplayCache, SelfIssuedTokens, create_id_token
from .dcp_issuance import IssuanceBook, IssuanceRefused, IssuanceRequest, bearer_token, credential_message
from .dcp_messages import credential_service_endpoint
from .did import DidResolver, IdentityError
from .issuer import Issuer, published
from .wallet import LocalIdentity

log = logging.getLogger("pontis.issuer")
AuthorizationHeader = Annotated[str | None, Header()]


def _error(status: int, reason: str, code: str) -> JSONResponse:
    return JSONResponse({"error": code, "reason": reason}, status_code=status)


class IssuerService:
    """The issuer's decisions and deliveries, apart from HTTP routing (tests call it directly)."""

    def __init__(self, issuer: Issuer, resolver: DidResolver, http: httpx.Client, *,
                 clock: Callable[[], float] = time.time, leeway_seconds: int = 10, valid_days: int = 365) -> None:
        self.issuer = issuer
        self.book = IssuanceBook(issuer)
        self.resolver = resolver
        self.http = http
        self.clock = clock
        self.valid_days = valid_days
        # signs our tokens only; its own resolver, so that our keys-only document is not pinned in the shared one
        self.identity = LocalIdentity(issuer.did, issuer.keys, resolver=DidResolver(offline=True))
        self.tokens = SelfIssuedTokens(issuer.did, resolver, ReplayCache(), leeway_seconds=leeway_seconds)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def caller(self, authorization: str | None) -> tuple[str, dict[str, Any]]:
        """The holder DID of a self-issued token addressed to us; IssuanceRefused (401) otherwise."""
        token = bearer_token(authorization)
        if not token:
            raise IssuanceRefused("no Authorization header: send a self-issued ID token", status=401,
                                  code="missing_token")
        try:
            return self.tokens.verify(token, self.clock())
        except IdentityError as exc:
            raise IssuanceRefused(exc.reason, status=401, code=exc.code) from None

    def receive(self, authorization: str | None, body: Any) -> IssuanceRequest:
        holder, claims = self.caller(authorization)
        grant = claims.get("token")
        if not isinstance(grant, str) or not grant:
            raise IssuanceRefused("the self-issued token carries no 'token' claim: the holder's grant to write "
                                  "the credentials to its Credential Service", status=401, code="no_grant")
        request = self.book.receive(holder, body, access_token=grant, now=self.now())
        log.info("request %s from %s for %s received", request.issuer_pid, holder, ", ".join(request.types))
        return request

    def deliver(self, issuer_pid: str) -> str:
        """Issue an accepted request's credentials and write them to the holder; returns the status."""
        request = self.book.get(issuer_pid)
        if request is None or request.status != "RECEIVED":
            return request.status if request else "UNKNOWN"
        issued = self.book.issue(request, now=self.now(), valid_days=self.valid_days)
        try:
            url = credential_service_endpoint(self.resolver.resolve(request.holder)) + "/credentials"
            token = create_id_token(self.identity, request.holder, now=int(self.clock()), presentation=False,
                                    token=request.access_token)
            response = self.http.post(url, json=credential_message(issuer_pid, request.holder_pid, issued),
                                      headers={"Authorization": f"Bearer {token}"})
            if not response.is_success:
                raise IssuanceRefused(f"POST {url} answered {response.status_code}: {response.text[:300]}")
        except (IdentityError, httpx.HTTPError) as exc:
            reason = f"delivery failed: {getattr(exc, 'reason', None) or exc}"
            for credential in issued:  # never delivered: must not stay valid somewhere
                self.issuer.revoke(credential.credential["id"])
            self.book.settle(issuer_pid, "REJECTED", now=self.now(), reason=reason)
            log.warning("request %s from %s: %s", issuer_pid, request.holder, reason)
            return "REJECTED"
        self.book.settle(issuer_pid, "ISSUED", now=self.now(), credential_ids=[c.credential["id"] for c in issued])
        log.info("request %s: delivered %s to %s", issuer_pid, ", ".join(request.types), request.holder)
        return "ISSUED"

    def status(self, authorization: str | None, issuer_pid: str) -> IssuanceRequest:
        holder, _ = self.caller(authorization)
        request = self.book.get(issuer_pid)
        if request is None or request.holder != holder:  # another holder's request does not exist for you
            raise IssuanceRefused(f"no request {issuer_pid} of {holder}", status=404, code="not_found")
        return request

    def directory(self, authorization: str | None) -> bytes:
        verify_membership_presentation(authorization, self.resolver, self.issuer, now=self.now())
        return directory_body(self.book.directory())


def issuer_app(directory: Path | str, *, resolver: DidResolver, http: httpx.Client,
               passphrase: str | None = None, clock: Callable[[], float] = time.time) -> FastAPI:
    """The issuer service for the issuer folder ``directory``."""
    issuer = Issuer.load(directory, passphrase)
    service = IssuerService(issuer, resolver, http, clock=clock)
    app = FastAPI(title="Pontis issuer", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.issuer_service = service
    base = urlsplit(issuer.service_url).path.rstrip("/")
    root = base.rsplit("/dcp", 1)[0]

    files = published(directory)  # read per request: `connector issuer revoke` bites at once

    @app.get(files.did_path, include_in_schema=False)
    def did_document() -> Response:
        return JSONResponse(files.did_document(), headers={"Cache-Control": "max-age=60"})

    @app.get(files.status_path, include_in_schema=False)
    def status_list() -> Response:
        return Response(files.status_list(), media_type="application/vc+jwt")

    @app.get(files.status_2021_path, include_in_schema=False)
    def status_list_2021() -> Response:
        listed = files.status_list_2021()
        if listed is None:
            return _error(404, "this issuer has no StatusList2021 list yet", "not_found")
        return Response(listed, media_type="application/jwt")

    @app.get(base + "/metadata")
    def metadata() -> Response:
        return JSONResponse(service.book.metadata())

    @app.post(base + "/credentials")
    async def request_credentials(request: Request, tasks: BackgroundTasks,
                                  authorization: AuthorizationHeader = None) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the body is not JSON (expected a CredentialRequestMessage)", "malformed")
        try:
            accepted = service.receive(authorization, body)
        except IssuanceRefused as exc:
            log.warning("credential request refused (%s): %s", exc.code, exc.reason)
            return _error(exc.status, exc.reason, exc.code)
        tasks.add_task(service.deliver, accepted.issuer_pid)
        return Response(status_code=201, headers={"Location": f"{base}/requests/{accepted.issuer_pid}"})

    @app.get(base + "/requests/{issuer_pid}")
    def request_status(issuer_pid: str, authorization: AuthorizationHeader = None) -> Response:
        try:
            return JSONResponse(service.status(authorization, issuer_pid).status_message())
        except IssuanceRefused as exc:
            return _error(exc.status, exc.reason, exc.code)

    @app.get(root + DIRECTORY_PATH)
    def bpn_directory(authorization: AuthorizationHeader = None) -> Response:
        try:
            body = service.directory(authorization)
        except DirectoryRefused as exc:
            log.warning("BPN directory refused (%s): %s", exc.code, exc.reason)
            return _error(exc.status, exc.reason, exc.code)
        return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})

    return app
