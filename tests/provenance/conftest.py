"""The example supply chain (examples/supply-chain) copied to a temp folder and run as real processes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from connector.cli.launch import ConnectorProcess, free_port, start_connector, wait_ready

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "supply-chain"
EXAMPLE_PORTS = ("8411", "8412", "8413")


@dataclass
class Company:
    name: str
    config: Path
    management: str
    api_key: str
    bpn: str
    process: ConnectorProcess | None = None

    def call(self, method: str, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        headers = {"X-Api-Key": self.api_key, **kwargs.pop("headers", {})}
        return httpx.request(method, self.management + path, headers=headers, timeout=30, **kwargs)


def imported(company: str) -> list[dict]:
    return json.loads((EXAMPLE / "parts" / f"{company}.json").read_text())


def copy_example(target: Path) -> dict[str, Company]:
    """The example folder under ``target``, on free ports (the fixed ones may be taken on a shared machine)."""
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("var"))
    ports = {old: str(free_port()) for old in EXAMPLE_PORTS}
    for path in [*target.glob("*.toml"), target / "endpoints.json"]:
        text = path.read_text()
        for old, new in ports.items():
            text = text.replace(old, new)
        path.write_text(text)
    endpoints = json.loads((target / "endpoints.json").read_text())
    return {name: Company(name, target / e["config"], e["management_url"], e["api_key"], e["bpn"])
            for name, e in endpoints.items()}


@pytest.fixture(scope="module")
def supply_chain(tmp_path_factory) -> Iterator[dict[str, Company]]:
    """The three companies running, each with its parts imported through ``POST /v3/parts/import``."""
    folder = tmp_path_factory.mktemp("supply-chain") / "example"
    companies = copy_example(folder)
    try:
        for company in companies.values():
            company.process = start_connector(company.name, company.config, folder / f"{company.name}.log",
                                              company.management.removesuffix("/management"))
        for company in companies.values():
            wait_ready(company.process, timeout=120)  # type: ignore[arg-type]  # a loaded machine starts slowly
        for company in companies.values():
            answer = company.call("POST", "/v3/parts/import", json=imported(company.name))
            assert answer.status_code == 200, answer.text
        yield companies
    finally:
        for company in companies.values():
            if company.process is not None:
                company.process.stop()
