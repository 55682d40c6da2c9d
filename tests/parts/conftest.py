"""Fixtures for part data: one connector (SQLite, and PostgreSQL when configured) and the example chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import Settings

API_KEY = "parts-test-key"
CHAIN = Path(__file__).resolve().parents[2] / "examples" / "supply-chain" / "parts"
NGUSS, ACHSEN, MOTORWERKE = "BPNL0000000NGUSS", "BPNL00000ACHSEAG", "BPNL00000MOTORWK"


def chain(company: str) -> list[dict]:
    return json.loads((CHAIN / f"{company}.json").read_text())


@pytest.fixture
def achsen(database_url: str) -> Iterator[TestClient]:
    """Achsen's connector, nothing loaded, with the management API key in its headers."""
    settings = Settings(participant_id="did:web:achsen.test", bpn=ACHSEN, name="Achsen AG", api_key=API_KEY,
                        database_url=database_url, server={"public_url": "http://achsen.test"})
    with TestClient(create_app(settings, run_worker=False), headers={"X-Api-Key": API_KEY}) as client:
        yield client
