"""``connector serve`` with ``[mqtt]`` enabled: a taken broker port or an unusable certificate is said
in one line before any banner (exit 2), as for the HTTP port and the database."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from connector.cli.configs import render_config
from connector.cli.launch import free_port

from .support import make_ca


def serve(tmp_path: Path, mqtt: str) -> str:
    config = tmp_path / "c.toml"
    config.write_text(render_config(participant_id="did:web:a.test", bpn=None, name=None, port=free_port(),
                                    database_url="sqlite:///c.db", api_key="k" * 16, token="t" * 16, peers=[],
                                    extra=f"[mqtt]\nenabled = true\n{mqtt}"))
    run = subprocess.run([sys.executable, "-m", "connector.cli.main", "serve", "--config", str(config)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert run.returncode == 2 and len(lines) == 1, run.stdout + run.stderr
    return lines[0]


def test_a_taken_broker_port_is_said_before_any_banner(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = serve(tmp_path, f'tls_port = {port}\nwss_port = {free_port()}\ncert_file = "{ca.cert_file}"\n'
                               f'key_file = "{ca.key_file}"\nauth = "none"\n')
    assert line.startswith("cannot start:") and f"127.0.0.1:{port} is already in use" in line and "[mqtt]" in line


def test_a_certificate_that_cannot_be_loaded_is_said_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.pem").write_text("not a certificate")
    line = serve(tmp_path, f'tls_port = {free_port()}\nwss_port = {free_port()}\ncert_file = "broken.pem"\n'
                           'key_file = "broken.pem"\nauth = "none"\n')
    assert line.startswith("cannot start: [mqtt] cert_file/key_file:") and "broken.pem" in line
    line = serve(tmp_path, f'tls_port = {free_port()}\nwss_port = {free_port()}\ncert_file = "missing.pem"\n'
                           'key_file = "missing.key"\nauth = "none"\n')
    assert line.startswith("cannot start: [mqtt] cert_file/key_file: no such file") and "missing" in line
