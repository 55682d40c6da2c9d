"""The connector under test as a real process: ``connector serve`` on a copy of the TCK config.

The copy of ``examples/tck/connector.toml`` gets a free port and a database in a temporary
folder; everything else (seed, playbook, the TCK peer and its token) is the example itself, so
the harness tests exactly what an operator would run against the real TCK.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.harness import settle

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "tck"
STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _replace_once(text: str, pattern: str, replacement: str) -> str:
    new, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    if count != 1:
        raise AssertionError(f"examples/tck/connector.toml no longer has a line matching {pattern!r}")
    return new


def write_config(workdir: Path, port: int) -> Path:
    """A copy of the example config: same seed and playbook, a free port, a fresh database."""
    text = (EXAMPLE / "connector.toml").read_text()
    text = _replace_once(text, r"^port\s*=.*$", f"port = {port}")
    text = _replace_once(text, r"^host\s*=.*$", 'host = "127.0.0.1"')
    text = _replace_once(text, r"^database_url\s*=.*$", f'database_url = "sqlite:///{workdir / "cut.db"}"')
    shutil.copy(EXAMPLE / "seed.json", workdir / "seed.json")  # seed_file is relative to the config
    path = workdir / "connector.toml"
    path.write_text(text)
    return path


@dataclass
class Cut:
    """A running connector under test and what the TCK knows about it."""

    process: subprocess.Popen
    base_url: str  # <root>: /.well-known/dspace-version lives here
    dsp_url: str  # the versioned DSP base
    participant_id: str
    token: str  # the Authorization header value the TCK sends
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _connector_command(config: Path) -> list[str]:
    script = Path(sys.executable).parent / "connector"
    if script.exists():
        return [str(script), "serve", "--config", str(config), "--log-level", "info"]
    return [sys.executable, "-m", "connector.cli.main", "serve", "--config", str(config), "--log-level", "info"]


def start(workdir: Path) -> Cut:
    port = free_port()
    config = write_config(workdir, port)
    settings = tomllib.loads(config.read_text())
    peer = next(p for p in settings["peers"] if p["id"] == "TCK_PARTICIPANT")
    log_path = workdir / "cut.log"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PONTIS_")}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(_connector_command(config), cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                   env=env)
    base = f"http://127.0.0.1:{port}"
    cut = Cut(process, base, "", settings["participant_id"], f"Bearer {peer['token']}", log_path)

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the connector exited with {process.returncode} while starting:\n{cut.log_tail()}")
        try:
            response = httpx.get(base + "/.well-known/dspace-version", timeout=1.0)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        entry = next(v for v in response.json()["protocolVersions"] if v["version"] == "2025-1")
        cut.dsp_url = base + "/" + entry["path"].strip("/")
        return True

    try:
        settle(until=answers, timeout=STARTUP_SECONDS, what=lambda: (
            f"the connector to answer /.well-known/dspace-version:\n{cut.log_tail()}"))
    except BaseException:
        cut.stop()
        raise
    return cut
