"""Limits: per-peer rate limits (429 with Retry-After, in the DSP error shape), body size (413 in the
DSP shape), and a timeout on every outgoing client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import LimitsSettings, Peer, Settings
from connector.services.ratelimit import RateLimited, RateLimiter
from connector.services.ssrf import Allowlist, OutgoingGuard, guarded_session
from connector.services.transport import DocumentFetch, make_client

CATALOG = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}
DSP = "/api/dsp/2025-1"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def limited(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(participant_id="did:web:p.test", database_url=f"sqlite:///{tmp_path}/p.db", api_key="k",
                        token="p-token", limits=LimitsSettings(peer_requests_per_second=1, peer_burst=2),
                        peers=[Peer(id="did:web:a.test", token="a-token"), Peer(id="did:web:b.test", token="b-token")])
    clock = Clock()
    with TestClient(create_app(settings)) as client:
        client.app.state.peer_limiter.clock = clock
        yield client, clock


def catalog(client: TestClient, token: str | None, **kw):  # type: ignore[no-untyped-def]
    headers = {"Authorization": token} if token else {}
    return client.post(DSP + "/catalog/request", json=kw.pop("json", CATALOG), headers=headers, **kw)


def test_a_peer_over_its_rate_gets_429_with_retry_after_and_others_do_not(limited):
    client, clock = limited
    assert [catalog(client, "a-token").status_code for _ in range(2)] == [200, 200]
    refused = catalog(client, "a-token")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["@type"] == "CatalogError" and refused.json()["code"] == "rate-limited"
    assert "did:web:a.test" in refused.json()["reason"][0]
    assert catalog(client, "b-token").status_code == 200  # another peer has its own bucket
    clock.now += 1000
    assert catalog(client, "a-token").status_code == 200
    # a negotiation endpoint answers in its own error shape
    over = client.post(DSP + "/negotiations/request", json={}, headers={"Authorization": "a-token"})
    assert over.status_code == 429 and over.json()["@type"] == "ContractNegotiationError"


def test_unauthenticated_callers_share_a_bucket_by_address(limited):
    client, _clock = limited
    assert [catalog(client, None).status_code for _ in range(3)] == [401, 401, 429]
    assert catalog(client, "a-token").status_code == 200


def test_a_catalog_request_over_the_body_limit_is_413_in_the_dsp_shape(limited):
    client, _clock = limited
    client.app.state.services.settings.max_body_bytes = 100
    answer = catalog(client, "a-token", json={**CATALOG, "padding": "x" * 500})
    assert answer.status_code == 413
    assert answer.json()["@type"] == "CatalogError" and answer.json()["code"] == "payload-too-large"


def test_the_bucket_refills_at_its_rate():
    limiter = RateLimiter(rate=2, burst=1)
    limiter.take("p", 0)
    with pytest.raises(RateLimited) as refused:
        limiter.take("p", 100)
    assert refused.value.retry_after == 1
    limiter.take("p", 600)  # half a second: one more at 2 a second


def test_every_outgoing_client_has_a_timeout():
    asyncio.run(_outgoing_timeouts())


async def _outgoing_timeouts() -> None:
    for kind in ("aiohttp", "httpx"):
        client = make_client(kind)
        assert client.timeout.connect == 10 and client.timeout.read == 10
        await client.aclose()
    fetch = DocumentFetch(guard=OutgoingGuard())
    assert fetch._client.timeout.read == 5  # DID documents and status lists
    fetch.close()
    session = guarded_session(Allowlist())  # data-plane backends, pushes, PACT and PCF calls
    assert session.timeout.sock_connect == 10 and session.timeout.sock_read == 60
    await session.close()
