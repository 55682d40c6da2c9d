"""Issue 8: the SQLite files are the owner's alone, and the EDR signing key is not in the database."""

from __future__ import annotations

import base64
import os
import stat

import jwt
import pytest
from sqlmodel import select

from connector.config import DataPlaneSettings, Settings
from connector.services.container import build
from connector.services.secrets import EDR_KEY_ENV, SecretError
from connector.store import Database
from connector.store.models import ConnectorSecret, TransferProcess


def mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(os.stat(path).st_mode)


def test_sqlite_database_wal_and_shm_are_created_0600(tmp_path):
    old = os.umask(0o022)
    try:
        db = Database(f"sqlite:///{tmp_path}/c.db")
        db.migrate()
        with db.write() as session:
            session.add(ConnectorSecret(name="probe", value={}))
        with db.read() as session:  # the -wal and -shm files exist while a connection is open
            session.exec(select(ConnectorSecret)).all()
            files = [tmp_path / n for n in ("c.db", "c.db-wal", "c.db-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        db.dispose()
    finally:
        os.umask(old)


def test_an_older_world_readable_database_is_tightened(tmp_path):
    path = tmp_path / "old.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    Database(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


def settings(tmp_path, **extra) -> Settings:
    return Settings(participant_id="did:web:p.test", api_key="k", database_url=f"sqlite:///{tmp_path}/p.db", **extra)


def issue(services) -> str:  # type: ignore[no-untyped-def]
    row = TransferProcess(id="tp-1", role="PROVIDER", consumer_pid="c", provider_pid="tp-1", state="STARTED",
                          counterparty_id="did:web:c.test", counterparty_address="http://c.test",
                          agreement_id="a-1", asset_id="x", transfer_type="HttpData-PULL", created_at=0, updated_at=0)
    with services.db.write() as session:
        return services.edrs.grant(session, row, 1_000_000).access_token


def verify(services, token: str) -> dict:  # type: ignore[no-untyped-def]
    with services.db.read() as session:
        key = services.edrs.public_key(session)
    return jwt.decode(token, key, algorithms=["EdDSA"], audience="did:web:p.test", options={"verify_exp": False})


def test_the_edr_signing_key_is_a_0600_file_next_to_the_database_not_a_row(tmp_path, monkeypatch):
    monkeypatch.delenv(EDR_KEY_ENV, raising=False)
    services = build(settings(tmp_path))
    services.db.migrate()
    token = issue(services)
    key_file = tmp_path / "p.db.edr-key.json"
    assert mode(key_file) == 0o600
    with services.db.read() as session:
        assert session.exec(select(ConnectorSecret)).all() == []
    restarted = build(settings(tmp_path))
    assert verify(restarted, token)["tp"] == "tp-1"  # the same key after a restart


def test_a_key_an_older_install_kept_in_the_database_moves_to_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv(EDR_KEY_ENV, raising=False)
    seed = bytes(range(32))
    services = build(settings(tmp_path, dataplane=DataPlaneSettings(edr_key_file=str(tmp_path / "keys/edr.json"))))
    services.db.migrate()
    with services.db.write() as session:
        session.add(ConnectorSecret(name="edr-signing-key", value={"seed": base64.b64encode(seed).decode()}))
    token = issue(services)
    assert (tmp_path / "keys/edr.json").exists() and base64.b64encode(seed).decode() in (tmp_path / "keys/edr.json").read_text()
    with services.db.read() as session:
        assert session.exec(select(ConnectorSecret)).all() == []
    assert verify(build(settings(tmp_path, dataplane=DataPlaneSettings(
        edr_key_file=str(tmp_path / "keys/edr.json")))), token)["tp"] == "tp-1"


def test_the_key_may_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(EDR_KEY_ENV, base64.b64encode(bytes(32)).decode())
    services = build(settings(tmp_path))
    services.db.migrate()
    issue(services)
    assert not (tmp_path / "p.db.edr-key.json").exists()
    with services.db.read() as session:
        assert session.exec(select(ConnectorSecret)).all() == []
    monkeypatch.setenv(EDR_KEY_ENV, "not base64!")
    with pytest.raises(SecretError, match=EDR_KEY_ENV):
        issue(build(settings(tmp_path)))
