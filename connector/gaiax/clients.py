"""Clients of a Gaia-X Digital Clearing House: Notary, Compliance and Registry (research §1.5).

All three go out through ``connector.services.transport.sync_client`` with the SSRF guard; the
configured service URLs count as servers the admin named (they may be on a private network).
A service's refusal becomes :class:`GaiaxServiceError` carrying its status and the GXDCH error
body (``{"message", "error", "statusCode", "errors"}``); 5xx and timeouts are ``retryable``.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

import httpx

from connector.services.ssrf import OutgoingGuard, SsrfRefused, origin_of
from connector.services.transport import sync_client

MAX_ANSWER = 1 << 20


class GaiaxServiceError(Exception):
    """A GXDCH service refused, failed or could not be reached."""

    def __init__(self, service: str, status: int | None, message: str, errors: list[str] | None = None) -> None:
        self.service, self.status, self.message, self.errors = service, status, message, errors or []
        detail = f" ({'; '.join(self.errors)})" if self.errors else ""
        super().__init__(f"{service}: {message}{detail}" + (f" [HTTP {status}]" if status else ""))

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status >= 500


def guard_for(base: OutgoingGuard, urls: list[str]) -> OutgoingGuard:
    """``base`` plus the configured GXDCH servers as known servers."""
    known = {o for o in (origin_of(u) for u in urls) if o}
    return dataclasses.replace(base, known=base.known | frozenset(known))


class GaiaxClient:
    """Notary, Compliance and Registry calls (synchronous: onboarding runs in a CLI or a worker)."""

    def __init__(self, notary_url: str, compliance_url: str, registry_url: str, guard: OutgoingGuard, *,
                 timeout: float = 60.0, transport: httpx.BaseTransport | None = None) -> None:
        self.notary_url, self.compliance_url, self.registry_url = (
            u.rstrip("/") for u in (notary_url, compliance_url, registry_url))
        self._client = sync_client(guard_for(guard, [notary_url, compliance_url, registry_url]), timeout=timeout,
                                   transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def _call(self, service: str, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kw)
        except SsrfRefused as exc:
            raise GaiaxServiceError(service, None, f"refusing to call {url}: {exc.reason}") from None
        except httpx.HTTPError as exc:
            raise GaiaxServiceError(service, None, f"{url} did not answer: {type(exc).__name__}: {exc}") from None
        if len(response.content) > MAX_ANSWER:
            raise GaiaxServiceError(service, response.status_code, f"answer larger than {MAX_ANSWER} bytes")
        return response

    @staticmethod
    def _refusal(service: str, response: httpx.Response) -> GaiaxServiceError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            errors = body.get("errors")
            return GaiaxServiceError(service, response.status_code, str(body.get("message") or body.get("error")),
                                     [str(e) for e in errors] if isinstance(errors, list) else None)
        return GaiaxServiceError(service, response.status_code, response.text[:300] or "no body")

    @staticmethod
    def _jwt(response: httpx.Response) -> str:
        return response.text.strip().strip('"')  # some GXDCH versions quote the JWT (research §1.5)

    def registration_number(self, kind: str, value: str, vc_id: str, subject_id: str) -> str:
        """The Notary's registration-number VC-JWT (``GET …/registration-numbers/{kind}/{value}``)."""
        url = f"{self.notary_url}/registration-numbers/{kind}/{quote(value, safe='')}"
        response = self._call("notary", "GET", url, params={"vcId": vc_id, "subjectId": subject_id},
                              headers={"Accept": "application/vc+jwt"})
        if response.status_code != 200:
            raise self._refusal("notary", response)
        return self._jwt(response)

    def compliance(self, vp_jwt: str, level: str, label_id: str) -> str:
        """The LabelCredential VC-JWT for a VP-JWT (``POST …/api/credential-offers/{level}?vcid=``)."""
        url = f"{self.compliance_url}/api/credential-offers/{level}"
        response = self._call("compliance", "POST", url, params={"vcid": label_id}, content=vp_jwt.encode(),
                              headers={"Content-Type": "application/vp+jwt", "Accept": "application/vc+jwt"})
        if response.status_code != 201:
            raise self._refusal("compliance", response)
        return self._jwt(response)

    def chain_is_trusted(self, x5u: str) -> bool:
        """Registry: is the chain at ``x5u`` rooted in a trust anchor (200) or not (404)?"""
        response = self._call("registry", "POST", f"{self.registry_url}/api/trustAnchor/chain/file", json={"uri": x5u})
        if response.status_code == 200:
            return True
        if response.status_code in (400, 404, 409):
            return False
        raise self._refusal("registry", response)

    def trusted_issuers(self) -> list[str]:
        """Registry: the DIDs of the trusted notaries and compliance services."""
        response = self._call("registry", "GET", f"{self.registry_url}/api/trusted-issuers",
                              headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise self._refusal("registry", response)
        body = response.json()
        items = body.get("items", body.get("issuers")) if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise GaiaxServiceError("registry", 200, "trusted-issuers: expected a list of DIDs")
        return [i if isinstance(i, str) else str(i.get("did") or i.get("id")) for i in items]
