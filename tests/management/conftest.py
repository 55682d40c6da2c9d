"""Fixtures for the management API tests: one connector, or a consumer and a provider in-process.

``api`` is a TestClient on one connector whose store is ``database_url`` (SQLite, and
PostgreSQL when configured; see tests/conftest.py), with the API key already in its headers.

``pair`` is two connectors in one process that reach each other over DSP through httpx's
ASGITransport (hosts ``consumer.test`` and ``provider.test``), each with its own worker and
SQLite file, so a catalog request or a negotiation runs end to end without sockets.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import Peer, ServerSettings, Settings
from connector.services.container import build
from connector.services.transport import DspClient, make_client
from tests.management.helpers import API_KEY, CONSUMER_ID, PROVIDER_ID, ok


def make_settings(database_url: str, participant_id: str = "did:web:solo.test", **extra) -> Settings:
    return Settings(participant_id=participant_id, api_key=API_KEY, database_url=database_url, **extra)


def client_for(settings: Settings, dsp_client: DspClient | None = None) -> TestClient:
    container = build(settings, client=dsp_client) if dsp_client is not None else None
    return TestClient(create_app(settings, container), headers={"X-Api-Key": API_KEY})


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    """One connector; its DSP client is the stock httpx transport, which pytest-httpx intercepts."""
    settings = make_settings(database_url, transport="httpx")
    with client_for(settings, DspClient(make_client("httpx"))) as client:
        yield client


# --- two connectors ------------------------------------------------------------------------------


@dataclass
class Pair:
    consumer: TestClient
    provider: TestClient
    provider_dsp: str
    consumer_dsp: str

    def wait_state(self, client: TestClient, negotiation_id: str, states=("FINALIZED", "TERMINATED"),
                   timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = ok(client.get(f"/management/v3/contractnegotiations/{negotiation_id}/state"))["state"]
            if state in states:
                return ok(client.get(f"/management/v3/contractnegotiations/{negotiation_id}"))
            time.sleep(0.05)
        raise AssertionError(f"negotiation {negotiation_id} did not reach {states} in {timeout} s")


@pytest.fixture
def pair(tmp_path) -> Iterator[Pair]:
    apps = {}
    urls = {"consumer": "http://consumer.test", "provider": "http://provider.test"}
    ids = {"consumer": CONSUMER_ID, "provider": PROVIDER_ID}
    clients = {}
    for name, other in (("consumer", "provider"), ("provider", "consumer")):
        settings = make_settings(
            f"sqlite:///{tmp_path / (name + '.db')}", ids[name], token=f"token-of-{name}",
            server=ServerSettings(public_url=urls[name]),
            # static-token mode: the peer's claims come from the config
            peers=[Peer(id=ids[other], token=f"token-of-{other}", dsp_url=urls[other] + "/api/dsp/2025-1", claims={
                "membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}})],
        )
        # the transport resolves lazily, so each side can reach the other's app built after it
        transport = _LazyAsgi(apps, other)
        dsp = DspClient(httpx.AsyncClient(mounts={urls[other]: transport}, timeout=10))
        clients[name] = client_for(settings, dsp)
        apps[name] = clients[name].app
    with clients["provider"] as provider, clients["consumer"] as consumer:
        yield Pair(consumer, provider, urls["provider"] + "/api/dsp/2025-1", urls["consumer"] + "/api/dsp/2025-1")


class _LazyAsgi(httpx.AsyncBaseTransport):
    def __init__(self, apps: dict, name: str) -> None:
        self.apps = apps
        self.name = name

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await httpx.ASGITransport(app=self.apps[self.name]).handle_async_request(request)
