"""``connector serve`` says why it cannot start in one line, before any banner, and exits 2."""

from __future__ import annotations

import socket
import subprocess
import sys

from connector.cli.configs import render_config
from connector.cli.launch import free_port


def serve(tmp_path, database_url: str, port: int) -> subprocess.CompletedProcess:
    config = tmp_path / "c.toml"
    config.write_text(render_config(participant_id="did:web:a.test", bpn=None, name=None, port=port,
                                    database_url=database_url, api_key="k" * 16, token="t" * 16, peers=[]))
    return subprocess.run([sys.executable, "-m", "connector.cli.main", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)


def one_line(run: subprocess.CompletedProcess) -> str:
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert run.returncode == 2 and len(lines) == 1, run.stdout + run.stderr
    return lines[0]


def test_a_database_path_blocked_by_a_file(tmp_path):
    (tmp_path / "var").write_text("a file, not a folder")
    line = one_line(serve(tmp_path, "sqlite:///var/c.db", free_port()))
    assert line.startswith("cannot start: database sqlite:///") and "cannot create the folder" in line


def test_an_unreachable_postgresql_hides_the_password(tmp_path):
    line = one_line(serve(tmp_path, f"postgresql://pontis:secret@127.0.0.1:{free_port()}/nope", free_port()))
    assert "cannot connect" in line and "secret" not in line and "***" in line


def test_an_address_in_use_is_said_before_any_banner(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = one_line(serve(tmp_path, "sqlite:///c.db", port))
    assert f"address 127.0.0.1:{port} is already in use" in line and "[server]" in line
