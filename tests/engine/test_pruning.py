"""Finished outbox rows and received-message records are pruned after [server] replay_window_hours."""

from __future__ import annotations

import pytest
from sqlmodel import select

from connector.config import ConfigError, load_settings
from connector.protocol.messages import read_offer
from connector.store.models import OutgoingMessage, ReceivedMessage
from tests.dsp.conftest import run, seed_offer, settle, world  # noqa: F401  (world: the fixture)
from tests.dsp.test_negotiation_flow import _catalog

BASE = 'participant_id = "did:web:a.test"\napi_key = "k"\n'
HOUR = 3_600_000


def test_the_retention_key_is_read_and_a_misspelling_refused(tmp_path):  # type: ignore[no-untyped-def]
    config = tmp_path / "c.toml"
    config.write_text(BASE + "[server]\nreplay_window_hours = 2\n")
    assert load_settings(config).server.replay_window_hours == 2
    config.write_text(BASE + "[server]\nreplay_windw_hours = 2\n")
    with pytest.raises(ConfigError, match="did you mean 'replay_window_hours'"):
        load_settings(config)
    config.write_text(BASE + "[server]\nreplay_window_hours = 0\n")
    with pytest.raises(ConfigError, match="replay_window_hours"):
        load_settings(config)


def test_the_worker_prunes_what_replays_no_longer_need(world):  # type: ignore[no-untyped-def]  # noqa: F811
    provider, consumer = world["provider"], world["consumer"]
    seed_offer(provider.services)
    offer = read_offer({"offer": dict(_catalog(world).json()["dataset"][0]["hasPolicy"][0], target="asset-1")})
    consumer.services.negotiations.request(counterparty_address=provider.dsp,
                                           counterparty_id=provider.settings.participant_id, offer=offer)
    settle(consumer, provider)
    worker = provider.services.worker
    assert worker.retention_ms == 168 * HOUR  # the default: a week
    with provider.services.db.read() as session:
        stamps = [m.created_at for m in session.exec(select(ReceivedMessage))]
        stamps += [m.created_at for m in session.exec(select(OutgoingMessage))]
    oldest, newest = min(stamps), max(stamps)
    assert worker.prune(oldest + worker.retention_ms) == 0  # all still inside the window: nothing goes
    assert worker.prune(newest + worker.retention_ms + 1) == 4  # 2 answers kept for replays, 2 sent messages
    with provider.services.db.read() as session:
        assert session.exec(select(ReceivedMessage)).all() == []
        assert session.exec(select(OutgoingMessage)).all() == []
    assert worker.prune(newest + worker.retention_ms + 1) == 0
