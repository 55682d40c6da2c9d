"""Real connector processes on 127.0.0.1, configured in a temp folder (tests/harness.py: ``Node``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import Node, node_pair


@pytest.fixture
def pair(tmp_path) -> Iterator[tuple[Node, Node]]:  # type: ignore[no-untyped-def]
    """A provider seeded with one offer and a consumer that know each other; started by the test."""
    yield from node_pair(tmp_path)
