"""``worker_lease_seconds``: how long a replica holds the outgoing messages it claimed (queued or claimed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from connector.services.container import build
from tests.management.conftest import make_settings


def test_the_configured_lease_reaches_the_sender_and_the_in_memory_hand_over(tmp_path: Path) -> None:
    services = build(make_settings(f"sqlite:///{tmp_path}/lease.db", worker_lease_seconds=12))
    try:
        assert services.worker.lease_ms == 12_000
        assert services.worker.dispatch.lease_ms == 12_000
    finally:
        services.db.dispose()


def test_the_default_lease_is_30_seconds_and_a_lease_must_be_positive(tmp_path: Path) -> None:
    services = build(make_settings(f"sqlite:///{tmp_path}/lease.db"))
    try:
        assert services.worker.lease_ms == 30_000
    finally:
        services.db.dispose()
    with pytest.raises(ValidationError, match="worker_lease_seconds"):
        make_settings(f"sqlite:///{tmp_path}/lease.db", worker_lease_seconds=0)
