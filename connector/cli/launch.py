"""Starting and stopping connector processes: for the demo, the benchmarks and integration tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ConnectorProcess:
    name: str
    config: Path
    log: Path
    base_url: str
    process: subprocess.Popen

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Die without a goodbye, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_connector(name: str, config: Path, log: Path, base_url: str, *, env: dict | None = None,
                    log_level: str = "info") -> ConnectorProcess:
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = open(log, "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "connector.cli.main", "serve", "--config", str(config), "--log-level", log_level],
        stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )
    handle.close()
    return ConnectorProcess(name, config, log, base_url, process)


def wait_ready(proc: ConnectorProcess, timeout: float = 30, path: str = "/.well-known/dspace-version") -> None:
    """Until ``path`` answers 200 (an issuer service: its ``/metadata``)."""
    deadline = time.monotonic() + timeout
    url = proc.base_url + path
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            tail = proc.log.read_text(errors="replace")[-2000:] if proc.log.exists() else ""
            raise RuntimeError(f"{proc.name} exited with code {proc.process.returncode}:\n{tail}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not answer at {url} within {timeout} s")
