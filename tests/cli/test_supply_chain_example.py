"""examples/supply-chain: the three configs load, know each other, and agree with endpoints.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from connector.config import load_settings

FOLDER = Path(__file__).resolve().parents[2] / "examples" / "supply-chain"
COMPANIES = ("nordguss", "achsen", "motorwerke")


def test_endpoints_describe_the_configs() -> None:
    endpoints = json.loads((FOLDER / "endpoints.json").read_text())
    assert sorted(endpoints) == sorted(COMPANIES)
    for name, entry in endpoints.items():
        settings = load_settings(FOLDER / entry["config"])
        assert settings.participant_id == entry["participant_id"]
        assert settings.bpn == entry["bpn"]
        assert settings.api_key == entry["api_key"]
        assert settings.dsp_url == entry["dsp_url"]
        assert settings.public_url + "/management" == entry["management_url"]
        others = {endpoints[o]["participant_id"]: endpoints[o] for o in COMPANIES if o != name}
        assert {peer.id for peer in settings.peers} == set(others)
        for peer in settings.peers:
            assert peer.dsp_url == others[peer.id]["dsp_url"]
            assert peer.bpn == others[peer.id]["bpn"]


@pytest.mark.parametrize("name", COMPANIES)
def test_paths_are_relative_to_the_config(tmp_path: Path, name: str) -> None:
    copy = tmp_path / "elsewhere"
    shutil.copytree(FOLDER, copy, ignore=shutil.ignore_patterns("var"))
    settings = load_settings(copy / f"{name}.toml")
    assert settings.database_url == f"sqlite:///{copy / 'var' / (name + '.db')}"
