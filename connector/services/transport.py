"""The outgoing HTTP client for DSP messages, with a pluggable transport.

Measured: httpx's stock async transport loses most of its throughput to pool contention at
high concurrency; the aiohttp transport keeps it. Tests that mock a misbehaving peer with
pytest-httpx choose the stock transport (``transport = "httpx"``), which pytest-httpx intercepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx


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


def make_client(kind: str = "aiohttp", timeout: float = 10.0) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    if kind == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return httpx.AsyncClient(transport=AiohttpTransport(), timeout=timeout)
    if kind != "httpx":
        raise ValueError(f"transport: expected 'aiohttp' or 'httpx', got {kind!r}")
    return httpx.AsyncClient(timeout=timeout, limits=limits)


class DspClient:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, url: str, body: dict, token: str | None) -> PeerResponse:
        return await self._call("POST", url, body, token)

    async def get(self, url: str, token: str | None) -> PeerResponse:
        return await self._call("GET", url, None, token)

    async def _call(self, method: str, url: str, body: dict | None, token: str | None) -> PeerResponse:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = token
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
