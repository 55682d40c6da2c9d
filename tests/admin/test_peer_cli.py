"""``connector peer add | list | remove | token`` on a connector's database, config peers read-only."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from connector.cli.main import app

runner = CliRunner()


def config(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('participant_id = "did:web:a.test"\napi_key = "k"\ntoken = "our-token-123"\n'
                    'database_url = "sqlite:///c.db"\n[[peers]]\nid = "did:web:configured.test"\n'
                    'token = "configured-123"\n')
    return str(path)


def test_add_list_remove_and_token(tmp_path):
    c = config(tmp_path)
    added = runner.invoke(app, ["peer", "add", "did:web:b.test", "--token", "b-token-123", "--dsp-url",
                                "https://b.test/api/dsp/2025-1", "--bpn", "BPNL000000000002", "--claims",
                                '{"membership": true}', "--config", c])
    assert added.exit_code == 0 and "added peer did:web:b.test at https://b.test/api/dsp/2025-1" in added.output
    listed = json.loads(runner.invoke(app, ["peer", "list", "--json", "--config", c]).output)
    assert [(p["id"], p["source"], p["claims"]) for p in listed] == [
        ("did:web:configured.test", "config", {}), ("did:web:b.test", "stored", {"membership": True})]
    text = runner.invoke(app, ["peer", "list", "--config", c]).output
    assert "[config, read-only]" in text and "b-token-123" not in text
    again = runner.invoke(app, ["peer", "add", "did:web:b.test", "--token", "other-token-1", "--dsp-url",
                                "https://b.test/dsp", "--config", c])
    assert again.exit_code == 1 and "exists" in again.output
    refused = runner.invoke(app, ["peer", "remove", "did:web:configured.test", "--config", c])
    assert refused.exit_code == 1 and "[[peers]]" in refused.output
    assert runner.invoke(app, ["peer", "remove", "did:web:b.test", "--config", c]).exit_code == 0
    assert runner.invoke(app, ["peer", "remove", "did:web:b.test", "--config", c]).exit_code == 1
    assert runner.invoke(app, ["peer", "token", "--config", c]).output.strip() == "our-token-123"


def test_bad_input_is_refused_naming_the_option(tmp_path):
    c = config(tmp_path)
    bad_claims = runner.invoke(app, ["peer", "add", "did:web:b.test", "--claims", "{nope", "--config", c])
    assert bad_claims.exit_code == 2 and "--claims is not JSON" in bad_claims.output
    bad_bpn = runner.invoke(app, ["peer", "add", "did:web:b.test", "--bpn", "NOTABPN", "--dsp-url",
                                  "https://b.test/d", "--config", c])
    assert bad_bpn.exit_code == 1 and "not a BPN" in bad_bpn.output
