"""Two connectors in process (tests/harness.py), reaching each other by host name through one router.

The workers are driven step by step (``settle``), so the tests see every state deterministically.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from connector.config import Peer, ServerSettings, Settings
from tests.harness import CLAIMS, Party, Router, seed_offer, settle, start_party

__all__ = ["Party", "make_settings", "run", "seed_offer", "settle"]

T = TypeVar("T")
PORTS = {"provider": 1001, "consumer": 1002}
BPNS = {"provider": "BPNL0000000NGUSS", "consumer": "BPNL00000ACHSEAG"}


def make_settings(name: str, port: int, db_url: str, peers: list[Peer], playbook: dict | None = None) -> Settings:
    return Settings(
        participant_id=f"did:web:{name}.test", bpn=None, server=ServerSettings(host=f"{name}.test", port=port),
        database_url=db_url, api_key=f"{name}-key", token=f"{name}-token", peers=peers,
        playbook=playbook or {}, transport="httpx",
    )


@pytest.fixture
def world(tmp_path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A provider and a consumer that know each other, sharing one in-process network (``world["router"]``)."""
    router = Router()
    world: dict[str, Any] = {"router": router}
    for name, other in (("provider", "consumer"), ("consumer", "provider")):
        peer = Peer(id=f"did:web:{other}.test", token=f"{other}-token", bpn=BPNS[other], claims=CLAIMS,
                    dsp_url=f"http://{other}.test:{PORTS[other]}/api/dsp/2025-1")
        world[name] = start_party(make_settings(name, PORTS[name], f"sqlite:///{tmp_path}/{name}.db", [peer]), router)
    return world


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)
