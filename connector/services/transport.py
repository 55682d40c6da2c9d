"""The one door out: every HTTP client the connector calls out with is built here, and each
checks its URLs with the SSRF guard (``connector.services.ssrf.OutgoingGuard``).

- ``make_client`` / ``DspClient``: DSP messages, callbacks and catalog requests (async);
- ``sync_client`` / ``DocumentFetch``: did:web documents, status lists, the consumer's EDR
  refresh (sync, from worker threads);
- ``connector.services.ssrf.guarded_session``: the data plane's backends, OAuth2 and pushes
  (aiohttp, for its speed on bodies).

A module that builds its own client is refused by tests/dataplane/test_one_door_out.py.

Measured: httpx's stock async transport loses most of its throughput to pool contention at
high concurrency; the aiohttp transport keeps it. Tests that mock a misbehaving peer with
pytest-httpx choose the stock transport (``transport = "httpx"``), which pytest-httpx intercepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from connector.services.correlation import HEADER as CORRELATION_HEADER
from connector.services.correlation import correlation_of
from connector.services.ssrf import GuardedResolver, OutgoingGuard, SsrfRefused

__all__ = ["DspClient", "DocumentFetch", "PeerResponse", "PeerUnreachable", "SsrfRefused", "make_client",
           "sync_client"]


@dataclass(frozen=True, slots=True)
class PeerResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    # DSP catalog pagination: the rel="next" URL from the Link header, if any
    next_url: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class PeerUnreachable(Exception):
    """The peer could not be reached or did not answer in time (worth retrying)."""


def make_client(kind: str = "aiohttp", timeout: float = 10.0, guard: OutgoingGuard | None = None) -> httpx.AsyncClient:
    """The async client under ``DspClient`` (which checks each URL before it is called); with the
    aiohttp transport, names are checked again as they are dialled."""
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    if kind == "aiohttp":
        import aiohttp
        from httpx_aiohttp import AiohttpTransport

        allow = (guard or OutgoingGuard()).connect_allowlist  # asked per connection (peers added at run time)

        def session() -> aiohttp.ClientSession:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(allow), limit=256)
            return aiohttp.ClientSession(connector=connector, trust_env=False)
        return httpx.AsyncClient(transport=AiohttpTransport(client=session), timeout=timeout, trust_env=False)
    if kind != "httpx":
        raise ValueError(f"transport: expected 'aiohttp' or 'httpx', got {kind!r}")
    return httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False)


class _GuardedSyncTransport(httpx.BaseTransport):
    def __init__(self, guard: OutgoingGuard, inner: httpx.BaseTransport) -> None:
        self.guard = guard
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.guard.check(str(request.url))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def sync_client(guard: OutgoingGuard, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None,
                **options: Any) -> httpx.Client:
    """A sync client whose every request (redirects included) passes ``guard`` first; raises
    ``SsrfRefused``. ``transport`` replaces the network (tests)."""
    inner = transport or httpx.HTTPTransport()
    return httpx.Client(transport=_GuardedSyncTransport(guard, inner), timeout=timeout, trust_env=False, **options)


class DocumentFetch:
    """GET a small resource (a did:web document, a status list): no redirects (a did:web is its
    URL), a timeout, a size cap, the guard. ``DidResolver(fetch=...)`` takes it."""

    def __init__(self, guard: OutgoingGuard, timeout: float = 5.0, max_bytes: int | None = None) -> None:
        from connector.identity.did import MAX_DOCUMENT_BYTES

        self.max_bytes = max_bytes or MAX_DOCUMENT_BYTES
        self._client = sync_client(guard, timeout=timeout, follow_redirects=False,
                                   headers={"Accept": "application/did+json, application/json, */*"})

    def __call__(self, url: str) -> bytes:
        from connector.identity.did import DidResolutionError

        try:
            with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise DidResolutionError(f"GET {url} answered HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:  # a peer must not make us buffer without bound
                        raise DidResolutionError(f"GET {url}: response larger than {self.max_bytes} bytes")
                return bytes(body)
        except SsrfRefused as exc:
            raise DidResolutionError(f"refusing to fetch {url}: {exc.reason}") from None
        except httpx.HTTPError as exc:
            raise DidResolutionError(f"GET {url} failed: {exc.__class__.__name__}: {exc}") from None

    def close(self) -> None:
        self._client.close()


class DspClient:
    """DSP calls to peers. Every URL passes ``guard`` first (``SsrfRefused``: not worth a retry);
    the container gives it the guard built from the settings."""

    def __init__(self, client: httpx.AsyncClient, guard: OutgoingGuard | None = None) -> None:
        self.client = client
        self.guard = guard or OutgoingGuard()

    async def post(self, url: str, body: dict, token: str | None) -> PeerResponse:
        return await self.request("POST", url, body, token)

    async def get(self, url: str, token: str | None) -> PeerResponse:
        return await self.request("GET", url, None, token)

    async def request(self, method: str, url: str, body: dict | None, token: str | None) -> PeerResponse:
        await self.guard.acheck(url)
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = token
        correlation = correlation_of(body)  # the peer logs this process's lines under the same id
        if correlation:
            headers[CORRELATION_HEADER] = correlation
        content = json.dumps(body).encode() if body is not None else None
        try:
            response = await self.client.request(method, url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise PeerUnreachable(f"{type(exc).__name__}: {exc or 'no answer'}") from exc
        try:
            parsed = response.json() if response.content else None
        except ValueError:
            parsed = response.text[:500]
        next_link = response.links.get("next", {}).get("url")
        return PeerResponse(response.status_code, parsed, dict(response.headers), next_link)

    async def aclose(self) -> None:
        await self.client.aclose()
