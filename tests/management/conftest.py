"""Fixtures for the management API tests: one connector, or a consumer and a provider in-process.

``api`` is a TestClient on one connector whose store is ``database_url`` (SQLite, and
PostgreSQL when configured; see tests/conftest.py), with the API key already in its headers.

``pair`` is two connectors in one process (tests/harness.py) that reach each other over DSP by
host name (``consumer.test`` and ``provider.test``), each with its own SQLite file, so a catalog
request or a negotiation runs end to end without sockets; ``pair.settle()`` drives their workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import Peer, ServerSettings, Settings
from connector.services.container import build
from connector.services.transport import DspClient, make_client
from tests.harness import CLAIMS, InProcessPair, start_pair
from tests.management.helpers import API_KEY, CONSUMER_ID, PROVIDER_ID


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


@pytest.fixture
def pair(tmp_path) -> Iterator[InProcessPair]:
    urls = {"consumer": "http://consumer.test", "provider": "http://provider.test"}
    ids = {"consumer": CONSUMER_ID, "provider": PROVIDER_ID}

    def settings(name: str, other: str) -> Settings:
        return make_settings(
            f"sqlite:///{tmp_path / (name + '.db')}", ids[name], token=f"token-of-{name}",
            server=ServerSettings(public_url=urls[name]),
            # static-token mode: the peer's claims come from the config
            peers=[Peer(id=ids[other], token=f"token-of-{other}", dsp_url=urls[other] + "/api/dsp/2025-1",
                        claims=CLAIMS)])

    yield from start_pair(settings, API_KEY)
