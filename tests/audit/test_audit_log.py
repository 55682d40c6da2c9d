"""The audit log's chain: `connector audit verify` catches a changed, removed or reordered entry and
a rewritten chain; `connector audit export` gives an extract that `verify --file` checks offline."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from connector.cli.audit import _trail
from connector.cli.main import app
from connector.services.audit import AuditTrail, entry_hash, verify_extract

runner = CliRunner()


def write_config(tmp_path: Path, database_url: str, *, checkpoint_every: int = 3) -> Path:
    config = tmp_path / "connector.toml"
    config.write_text(f'''participant_id = "did:web:localhost%3A9999"
api_key = "staff-key"

[database]
url = "{database_url}"

[identity]
key_file = "acme.keys.json"
generate_key = true

[audit]
checkpoint_every = {checkpoint_every}
''')
    return config


@pytest.fixture
def audited(tmp_path: Path, database_url: str) -> tuple[Path, AuditTrail]:
    config = write_config(tmp_path, database_url)
    trail = _trail(config)
    for i in range(1, 8):
        trail.record("management.write", {"asset": f"asset-{i}"}, {"method": "POST", "status": 200},
                     actor=f"staff:key-{i}")
    yield config, trail
    trail.db.dispose()


def verify(config: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--config", str(config)])
    return result.exit_code, result.output


def sql(trail: AuditTrail, statement: str) -> None:
    with trail.db.engine.begin() as conn:
        conn.execute(text(statement))


def test_an_intact_log_verifies_with_its_signed_checkpoints(audited):
    config, trail = audited
    code, output = verify(config)
    assert code == 0, output
    assert "intact: entries 1..7, 2 checkpoints" in output and "did:web:localhost%3A9999#" in output
    report = trail.verify()
    assert report.ok and report.checkpoints == 2 and report.unsigned_checkpoints == 0


def test_a_flipped_byte_in_a_stored_entry_is_named(audited):
    config, trail = audited
    sql(trail, "UPDATE audit_entry SET actor = 'staff:key-5' WHERE seq = 4")  # one byte: 4 -> 5
    code, output = verify(config)
    assert code == 1
    assert "entry 4: changed" in output
    assert "entry 5" not in output.replace("staff:key-5", "")  # the others are fine


def test_a_removed_entry_is_named(audited):
    config, trail = audited
    sql(trail, "DELETE FROM audit_entry WHERE seq = 5")
    code, output = verify(config)
    assert code == 1 and "entry 5: missing" in output


def test_reordered_entries_are_named(audited):
    config, trail = audited
    # swap the content of entries 2 and 3 (their sequence numbers stay)
    with trail.db.engine.begin() as conn:
        rows = {r.seq: r for r in conn.execute(text("SELECT * FROM audit_entry WHERE seq IN (2, 3)"))}
        for seq, other in ((2, 3), (3, 2)):
            conn.execute(text("UPDATE audit_entry SET actor = :a, subject = :s, prev_hash = :p, hash = :h "
                              "WHERE seq = :seq"),
                         {"a": rows[other].actor, "s": json.dumps(rows[other].subject) if not isinstance(
                             rows[other].subject, str) else rows[other].subject,
                          "p": rows[other].prev_hash, "h": rows[other].hash, "seq": seq})
    code, output = verify(config)
    assert code == 1 and "entry 2: changed" in output and "entry 3: changed" in output


def test_a_consistently_rewritten_chain_is_caught_by_the_signed_checkpoint(audited):
    config, trail = audited
    # the tamperer recomputes every hash from entry 2 on: only the signed checkpoints can tell
    entries = trail.export(None, None)["entries"]
    entries[1]["actor"] = "staff:mallory"
    previous = entries[0]["hash"]
    with trail.db.engine.begin() as conn:
        for entry in entries[1:]:
            entry["prev_hash"] = previous
            entry["hash"] = previous = entry_hash(entry)
            conn.execute(text("UPDATE audit_entry SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :seq"),
                         {"a": entry["actor"], "p": entry["prev_hash"], "h": entry["hash"], "seq": entry["seq"]})
    code, output = verify(config)
    assert code == 1 and "checkpoint 3: entry 3 no longer has the signed hash" in output


def test_entries_cut_from_the_end_are_caught_by_a_checkpoint(audited):
    config, trail = audited
    sql(trail, "DELETE FROM audit_entry WHERE seq >= 6")
    code, output = verify(config)
    assert code == 1 and "checkpoint 6: entries 6..6 were removed" in output


def test_an_export_verifies_offline_and_a_changed_byte_in_it_fails(audited, tmp_path):
    config, trail = audited
    out = tmp_path / "extract.json"
    result = runner.invoke(app, ["audit", "export", "--from", "2000-01-01", "--to", "2999-01-01T00:00:00Z",
                                 "--out", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.output
    extract = json.loads(out.read_text())
    assert [e["seq"] for e in extract["entries"]] == list(range(1, 8)) and "proof" in extract
    check = runner.invoke(app, ["audit", "verify", "--file", str(out)])
    assert check.exit_code == 0, check.output
    assert "extract" in check.output and "intact" in check.output

    extract["entries"][2]["details"]["status"] = 201
    out.write_text(json.dumps(extract))
    check = runner.invoke(app, ["audit", "verify", "--file", str(out)])
    assert check.exit_code == 1
    assert "entry 3: changed" in check.output and "extract: its signature does not verify" in check.output


def test_an_empty_window_and_a_bad_time_are_answered(audited, tmp_path):
    config, trail = audited
    empty = verify_extract(trail.export(0, 1))
    assert empty.ok and empty.entries == 0
    bad = runner.invoke(app, ["audit", "export", "--from", "yesterday", "--config", str(config)])
    assert bad.exit_code == 2 and "--from 'yesterday'" in bad.output


def test_checkpoint_on_demand_signs_the_head(audited):
    config, trail = audited
    result = runner.invoke(app, ["audit", "checkpoint", "--config", str(config)])
    assert result.exit_code == 0 and "checkpoint at entry 7" in result.output
    assert trail.verify().checkpoints == 3


def test_concurrent_appends_make_one_unbroken_chain(audited):
    _config, trail = audited

    def append(n: int) -> None:
        for i in range(10):
            trail.record("test", {"n": n, "i": i}, {})
    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = trail.verify()
    assert report.ok, report.problems
    assert report.last_seq == 47


def test_an_entry_undone_with_its_savepoint_leaves_the_chain_unbroken(audited):
    """A group commit runs each piece under a savepoint: a piece that appended and then failed is
    undone, and the next piece's entry follows the last one that stays."""
    _config, trail = audited
    trail.install()  # as the connector does: the session hooks
    try:
        with trail.db.write() as session:
            with pytest.raises(RuntimeError), session.begin_nested():
                trail.append(session, "test", {"n": "undone"}, {})
                raise RuntimeError("this piece fails after its append")
            with session.begin_nested():
                trail.append(session, "test", {"n": "kept"}, {})
    finally:
        trail.uninstall()
    report = trail.verify()
    assert report.ok, report.problems
    assert report.last_seq == 8
