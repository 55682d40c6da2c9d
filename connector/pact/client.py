"""A small PACT client: token, list (following Link rel="next"), get, events.

For the demo's last step (a PACT tool reads Nordguss's footprints), tests and scripts::

    from connector.pact.client import read_footprints
    footprints = read_footprints("https://127.0.0.1:8443", "achsen-pact", "…", verify=False)

Calls go through the SSRF-guarded session; the host of ``base_url`` is allowed because whoever
calls this named it. ``verify`` is True (system CAs), False (a self-signed development
certificate) or the path of a CA/certificate file to trust.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import aiohttp

from connector.services.ssrf import Allowlist, acheck_backend_url, guarded_session


class PactCallFailed(Exception):
    """A PACT call answered with an error: ``status`` and the PACT (or OAuth2) error body."""

    def __init__(self, what: str, status: int, body: Any) -> None:
        super().__init__(f"{what}: {status} {body}")
        self.status = status
        self.body = body


def _ssl(verify: bool | str) -> ssl.SSLContext | bool:
    if verify is True:
        return True
    if verify is False:
        return False
    return ssl.create_default_context(cafile=verify)


def _next_link(header: str | None) -> str | None:
    for part in (header or "").split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            return target.strip().lstrip("<").rstrip(">")
    return None


class PactApiClient:
    def __init__(self, base_url: str, client_id: str, client_secret: str, *, verify: bool | str = True,
                 allowlist: list[str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.ssl = _ssl(verify)
        host = urlsplit(self.base_url).hostname or ""
        self.allowlist = Allowlist.parse([host, *(allowlist or [])])
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None

    async def __aenter__(self) -> PactApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = guarded_session(self.allowlist)
        return self._session

    async def _call(self, method: str, url: str, headers: dict, data: bytes | None = None):
        await acheck_backend_url(url, self.allowlist)
        async with self.session().request(method, url, headers=headers, data=data, ssl=self.ssl,
                                          allow_redirects=False, timeout=aiohttp.ClientTimeout(total=30)) as response:
            raw = await response.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw[:300].decode("utf-8", "replace")
            return response.status, body, response.headers

    async def token(self) -> str:
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        status, body, _ = await self._call("POST", self.base_url + "/auth/token", {
            "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
            b"grant_type=client_credentials")
        if status != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise PactCallFailed("POST /auth/token", status, body)
        self._token = str(body["access_token"])
        return self._token

    async def _bearer(self) -> dict:
        return {"Authorization": f"Bearer {self._token or await self.token()}"}

    async def list_footprints(self, *, version: int = 3, limit: int | None = None,
                              **filters: str | list[str]) -> list[dict]:
        """Every footprint the server lets us see, following its pagination links."""
        params: list[tuple[str, str]] = [("limit", str(limit))] if limit else []
        for name, value in filters.items():
            params += [(name, v) for v in (value if isinstance(value, list) else [value])]
        url: str | None = f"{self.base_url}/{version}/footprints" + (f"?{urlencode(params)}" if params else "")
        out: list[dict] = []
        while url:
            status, body, headers = await self._call("GET", url, await self._bearer())
            if status not in (200, 202) or not isinstance(body, dict):
                raise PactCallFailed(f"GET {url}", status, body)
            out += body.get("data", [])
            following = _next_link(headers.get("Link"))
            url = urljoin(url, following) if following else None
        return out

    async def get_footprint(self, footprint_id: str, *, version: int = 3) -> dict:
        url = f"{self.base_url}/{version}/footprints/{footprint_id}"
        status, body, _ = await self._call("GET", url, await self._bearer())
        if status != 200 or not isinstance(body, dict):
            raise PactCallFailed(f"GET {url}", status, body)
        return body["data"]

    async def send_event(self, event: dict, *, version: int = 3) -> tuple[int, Any]:
        headers = {**await self._bearer(), "Content-Type": "application/cloudevents+json"}
        status, body, _ = await self._call("POST", f"{self.base_url}/{version}/events", headers,
                                           json.dumps(event).encode())
        return status, body


def read_footprints(base_url: str, client_id: str, client_secret: str, *, verify: bool | str = True,
                    version: int = 3, **filters: str | list[str]) -> list[dict]:
    """A PACT tool's view of a supplier: every footprint its client may see (blocking)."""
    async def run() -> list[dict]:
        async with PactApiClient(base_url, client_id, client_secret, verify=verify) as client:
            return await client.list_footprints(version=version, **filters)  # type: ignore[arg-type]  # filters are the query's named lists, never `version`
    return asyncio.run(run())
