"""Real connector processes on 127.0.0.1, configured in a temp folder."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from connector.cli.configs import render_config
from connector.cli.processes import ConnectorProcess, free_port, start_connector, wait_ready
from connector.config import DSP_PATH

PEER_CLAIMS = {"membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}


@dataclass
class Node:
    name: str
    workdir: Path
    port: int = field(default_factory=free_port)
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    token: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    process: ConnectorProcess | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dsp(self) -> str:
        return self.base + DSP_PATH

    @property
    def participant_id(self) -> str:
        return f"did:web:localhost%3A{self.port}"

    @property
    def config(self) -> Path:
        return self.workdir / f"{self.name}.toml"

    def write_config(self, peers: list[Node], extra: str = "") -> None:
        self.config.write_text(render_config(
            participant_id=self.participant_id, bpn=None, name=self.name, port=self.port,
            database_url=f"sqlite:///{self.workdir / (self.name + '.db')}", api_key=self.api_key, token=self.token,
            # static-token mode: what each peer may claim comes from the config (with DIDs: credentials)
            peers=[{"id": p.participant_id, "token": p.token, "dsp_url": p.dsp, "claims": PEER_CLAIMS}
                   for p in peers], extra=extra))

    def start(self) -> None:
        self.process = start_connector(self.name, self.config, self.workdir / f"{self.name}.log", self.base)
        wait_ready(self.process)

    def management(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        return httpx.request(method, f"{self.base}/management{path}", json=body,
                             headers={"X-Api-Key": self.api_key}, timeout=30)

    def wait_state(self, negotiation_id: str, states: tuple[str, ...], timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.management("GET", f"/v3/contractnegotiations/{negotiation_id}").json()
            if last.get("state") in states:
                return last
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: negotiation {negotiation_id} is {last and last.get('state')}, not {states}")


def write_seed(path: Path, asset_id: str = "pcf-NG-WC-400") -> None:
    path.write_text(json.dumps({
        "policies": [{"@id": "usage", "policy": {"permission": [{"action": "use", "constraint": [
            {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}]}]}}],
        "assets": [{"@id": asset_id, "properties": {"http://purl.org/dc/terms/title": "casting PCF"}}],
        "contractDefinitions": [{"@id": "cd-1", "accessPolicyId": "usage", "contractPolicyId": "usage",
                                 "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id",
                                                     "operator": "=", "operandRight": asset_id}]}],
    }))


@pytest.fixture
def pair(tmp_path):
    provider, consumer = Node("provider", tmp_path), Node("consumer", tmp_path)
    write_seed(tmp_path / "seed.json")
    provider.write_config([consumer], extra=f'seed_file = "{tmp_path / "seed.json"}"\nretry_base_seconds = 0.2')
    consumer.write_config([provider], extra="retry_base_seconds = 0.2")
    yield provider, consumer
    for node in (provider, consumer):
        if node.process is not None:
            node.process.stop()
