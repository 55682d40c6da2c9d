"""Wiring of the DCP modes: the authenticator for ``[identity] auth_mode``, the shared replay cache,
the STS, our Credential Service, and their HTTP calls (all through the SSRF guard).

- ``dcp``: :class:`connector.identity.presentation.DcpPresentationAuthenticator` (DCP v1.0
  presentation flow), with the built-in or an external STS;
- ``dcp-embedded``: :class:`connector.identity.dcp.DcpAuthenticator` (our peers only);
- either way the replay cache is :class:`connector.services.replay.DatabaseReplayCache`, and a
  connector with a key serves its Credential Service (:mod:`connector.identity.credential_service`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from connector.identity.credential_service import CredentialService
from connector.identity.did import IdentityError
from connector.services.replay import DatabaseReplayCache
from connector.services.ssrf import OutgoingGuard, SsrfRefused
from connector.services.transport import sync_client
from connector.store.db import Database

log = logging.getLogger("pontis.identity")
MAX_RESPONSE_BYTES = 1024 * 1024  # a presentation of a few credentials is kilobytes


class GuardedPost:
    """POST JSON or a form through the guard; (status, the parsed JSON body or None). No redirects,
    a timeout, a size cap; a transport failure is an :class:`IdentityError` naming the URL."""

    def __init__(self, guard: OutgoingGuard, timeout: float = 10.0) -> None:
        self._client = sync_client(guard, timeout=timeout, follow_redirects=False,
                                   headers={"Accept": "application/json"})

    def _send(self, url: str, **request: Any) -> tuple[int, Any]:
        try:
            with self._client.stream("POST", url, **request) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise IdentityError(f"POST {url}: response larger than {MAX_RESPONSE_BYTES} bytes",
                                            code="presentation_query_failed")
                status = response.status_code
        except SsrfRefused as exc:
            raise IdentityError(f"refusing to call {url}: {exc.reason}", code="presentation_query_failed") from None
        except httpx.HTTPError as exc:
            raise IdentityError(f"POST {url} failed: {exc.__class__.__name__}: {exc}",
                                code="presentation_query_failed") from None
        try:
            return status, json.loads(body) if body else None
        except ValueError:
            return status, None

    def json(self, url: str, body: dict[str, Any], authorization: str) -> tuple[int, Any]:
        return self._send(url, json=body, headers={"Authorization": authorization})

    def form(self, url: str, form: dict[str, str]) -> tuple[int, Any]:
        return self._send(url, data=form)


def agreement_policy(session: Any, agreement_id: str | None) -> dict[str, Any] | None:
    """The policy of an agreement we hold (what a transfer under it is judged on), or None."""
    from connector.store.models import Agreement

    row = session.get(Agreement, agreement_id) if agreement_id else None
    return row.policy if row is not None else None


def dcp_authentication(settings: Any, db: Database, identity: Any,
                       guard: OutgoingGuard) -> tuple[Any, CredentialService | None, DatabaseReplayCache]:
    """(the authenticator of a DCP ``auth_mode``, or None in static-token mode; our Credential
    Service when we have a DID and keys; the replay cache all token checks share)."""
    from connector.identity.dcp import dcp_authenticator_from_settings
    from connector.identity.presentation import presentation_authenticator_from_settings
    from connector.identity.sts import sts_from_settings

    config = settings.identity
    replay = DatabaseReplayCache(db)
    post = GuardedPost(guard)
    service = None
    if identity is not None and identity.did.startswith("did:web:"):
        from connector.identity.vc11 import profiles_for

        service = CredentialService(identity, identity.resolver, replay, leeway_seconds=config.leeway_seconds,
                                    ttl_seconds=config.token_ttl_seconds,
                                    profiles=profiles_for(settings.profile.dataspace, config.presentation_profiles))
    authenticator: Any = None
    if config.auth_mode == "dcp-embedded":
        authenticator = dcp_authenticator_from_settings(settings, identity, replay=replay)
    elif config.auth_mode == "dcp":
        if identity is None:
            raise IdentityError("identity.auth_mode = \"dcp\" needs identity.key_file (run `connector init`)")
        authenticator = presentation_authenticator_from_settings(
            settings, identity, sts_from_settings(settings, identity, post.form), post.json, replay)
    return authenticator, service, replay

