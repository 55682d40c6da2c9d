"""Probes, Prometheus metrics, JSON logs and correlation ids: what operations staff rely on."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from connector.app import create_app
from connector.config import ConfigError, IdentitySettings, MetricsSettings, Settings, load_settings
from connector.ops.logs import configure_logging
from connector.services.container import build
from connector.services.correlation import correlation_id
from connector.services.ssrf import OutgoingGuard, origin_of
from connector.services.transport import DspClient

KEY = "ops-key"


def settings_for(tmp_path: Path, **extra) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(participant_id="did:web:ops.test", database_url=f"sqlite:///{tmp_path}/ops.db", api_key=KEY,
                    token="ops-token", **extra)


@pytest.fixture
def ops(tmp_path: Path):  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings_for(tmp_path))) as client:
        yield client


def test_live_and_ready_answer_without_a_key(ops):
    assert ops.get("/health/live").json() == {"status": "live"}
    ready = ops.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready" and ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["migrations"] == "ok"


def test_ready_names_a_schema_behind_the_code(ops):
    services = ops.app.state.services
    with services.db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    ready = ops.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["failed"] == ["migrations"]
    assert "the schema is at 0009" in ready.json()["checks"]["migrations"]


def test_ready_names_an_unreachable_database(tmp_path):
    settings = settings_for(tmp_path).model_copy(update={"database_url": "postgresql://x:y@127.0.0.1:1/none"})
    client = TestClient(create_app(settings, build(settings)))  # no lifespan: it would migrate
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["failed"][0] == "database" and "unreachable" in ready.json()["checks"]["database"]


def test_ready_names_keys_that_are_configured_but_not_loaded(tmp_path):
    settings = settings_for(tmp_path, identity=IdentitySettings(key_file=str(tmp_path / "k.keys.json"),
                                                                generate_key=True))
    services = build(settings)
    assert services.identity is not None
    with TestClient(create_app(settings, services)) as client:
        assert client.get("/health/ready").status_code == 200
    # the container is frozen: a connector whose keys did not load is one built without them
    keyless = dataclasses.replace(services, identity=None)
    with TestClient(create_app(settings, keyless)) as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["failed"] == ["keys"]


def test_metrics_need_a_key_and_show_processes_and_latency(ops):
    assert ops.get("/metrics").status_code == 401
    assert ops.get("/metrics", headers={"X-Api-Key": "wrong"}).status_code == 401
    ops.get("/health/live")
    scraped = ops.get("/metrics", headers={"Authorization": f"Bearer {KEY}"})
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    body = scraped.text
    assert 'pontis_http_request_duration_seconds_count{edge="health",method="GET",status="200"} 1.0' in body
    for name in ("pontis_negotiations", "pontis_transfers", "pontis_outbox_messages", "pontis_dataplane_bytes_total",
                 "pontis_policy_denials"):
        assert f"# TYPE {name.removesuffix('_total')}" in body
    assert ops.get("/metrics", headers={"X-Api-Key": KEY}).status_code == 200


def test_row_counts_are_read_from_the_database(ops):
    from connector.store.models import Negotiation, OutgoingMessage

    with ops.app.state.services.db.write() as s:
        for i, state in enumerate(["REQUESTED", "FINALIZED", "FINALIZED"]):
            s.add(Negotiation(id=f"n{i}", role="provider", state=state, counterparty_id="p",
                              counterparty_address="http://p"))
        s.add(OutgoingMessage(process_id="n0", kind="x", url="http://p", body={}, status="pending", attempts=3))
    body = ops.get("/metrics", headers={"X-Api-Key": KEY}).text
    assert 'pontis_negotiations{role="provider",state="FINALIZED"} 2.0' in body
    assert 'pontis_outbox_messages{status="pending"} 1.0' in body
    assert 'pontis_outbox_retries{status="pending"} 2.0' in body


def test_public_metrics_need_no_key(tmp_path):
    with TestClient(create_app(settings_for(tmp_path, metrics=MetricsSettings(public=True)))) as client:
        assert client.get("/metrics").status_code == 200


def test_a_correlation_id_is_echoed_or_made(ops):
    given = ops.get("/health/live", headers={"X-Correlation-Id": "urn:uuid:abc"})
    assert given.headers["x-correlation-id"] == "urn:uuid:abc"
    assert len(ops.get("/health/live").headers["x-correlation-id"]) == 16


def test_outgoing_dsp_calls_carry_the_process_consumer_pid():
    seen: dict[str, str] = {}

    def peer(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(200, json={})
    client = DspClient(httpx.AsyncClient(transport=httpx.MockTransport(peer)),
                       guard=OutgoingGuard(known=frozenset({origin_of("http://127.0.0.1:9")})))
    asyncio.run(client.post("http://127.0.0.1:9/api/dsp/2025-1/negotiations/request",
                            {"@type": "ContractRequestMessage", "consumerPid": "urn:uuid:c-1"}, "t"))
    assert seen["x-correlation-id"] == "urn:uuid:c-1"


def test_json_logs_carry_the_correlation_id():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("info", "json")
        root.handlers[0].stream = stream  # type: ignore[attr-defined]
        token = correlation_id.set("urn:uuid:c-2")
        logging.getLogger("pontis.test").info("negotiation %s agreed", "n-1")
        correlation_id.reset(token)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("pontis.test").exception("failed")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    first, second = (json.loads(line) for line in stream.getvalue().splitlines()[:2])
    assert first["message"] == "negotiation n-1 agreed" and first["correlation_id"] == "urn:uuid:c-2"
    assert first["level"] == "INFO" and first["logger"] == "pontis.test"
    assert second["correlation_id"] == "-" and "ValueError: boom" in second["exception"]


def test_new_sections_refuse_unknown_keys_naming_the_closest(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('participant_id = "did:web:x"\napi_key = "k"\n[log]\nfromat = "json"\n')
    with pytest.raises(ConfigError, match=r"\[log\] fromat: unknown key; did you mean 'format'"):
        load_settings(config)
    config.write_text('participant_id = "did:web:x"\napi_key = "k"\n[metrics]\npublik = true\n')
    with pytest.raises(ConfigError, match=r"\[metrics\] publik: unknown key; did you mean 'public'"):
        load_settings(config)
    config.write_text('participant_id = "did:web:x"\napi_key = "k"\n[audit]\ncheckpoint_evry = 5\n')
    with pytest.raises(ConfigError, match=r"did you mean 'checkpoint_every'"):
        load_settings(config)
