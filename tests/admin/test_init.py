"""``connector init`` refuses what is not a BPN or a participant id, and writes a config that loads."""

from __future__ import annotations

from typer.testing import CliRunner

from connector.cli.main import app
from connector.config import load_settings

runner = CliRunner()


def test_init_refuses_a_bpn_that_is_none(tmp_path):
    out = tmp_path / "c.toml"
    result = runner.invoke(app, ["init", "--participant-id", "did:web:example.com", "--bpn", "NOTABPN",
                                 "--out", str(out)])
    assert result.exit_code == 2 and "'NOTABPN' is not a Business Partner Number" in result.output
    assert not out.exists()
    result = runner.invoke(app, ["init", "--participant-id", "example.com", "--out", str(out)])
    assert result.exit_code == 2 and "expected a DID" in result.output and not out.exists()


def test_init_writes_a_config_that_loads(tmp_path):
    out = tmp_path / "c.toml"
    result = runner.invoke(app, ["init", "--participant-id", "did:web:example.com", "--bpn", "BPNL000000000001",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    settings = load_settings(out)
    assert settings.bpn == "BPNL000000000001" and settings.identity.auth_mode == "static-token"
