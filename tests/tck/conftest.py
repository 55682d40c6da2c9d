"""Fixtures of the TCK harness: one connector-under-test process and one TCK peer per session.

The scenarios share them: each scenario uses its own dataset, process ids and peer session, as
the real TCK does against one running connector. Every message is checked against our own table
of DSP 2025-1 shapes (``shapes.py``) and, where ../shared is present, the reference schemas too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tck import cut as cut_process
from tests.tck.peer import Peer, PeerServer


@pytest.fixture(scope="session")
def cut(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cut_process.Cut]:
    running = cut_process.start(tmp_path_factory.mktemp("tck-cut"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def peer() -> Iterator[Peer]:
    tck = Peer()
    server = PeerServer(tck, cut_process.free_port())
    server.start()
    try:
        yield tck
    finally:
        server.stop()
