"""`connector gaiax onboard` against the mock GXDCH (`connector gaiax mock`), both real processes on
127.0.0.1: the DID document carries the Gaia-X key with x5u, the chain and the label are served,
and the stored label verifies."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from connector.cli.demo_gaiax import GaiaxStep
from connector.config import load_settings
from connector.gaiax import store
from connector.gaiax.keys import CHAIN_PATH, check_key_matches_chain, parse_chain
from connector.gaiax.label import verify_label
from connector.gaiax.service import resolver_for
from connector.store.db import Database

from .conftest import Node

pytestmark = pytest.mark.integration


def test_onboard_against_the_mock(tmp_path: Path) -> None:
    node = Node("alpha", tmp_path)
    node.write_config([], extra="[identity]\nkey_file = \"alpha.keys.json\"\ngenerate_key = true\n"
                                "allow_insecure_did_web = true\n")
    step = GaiaxStep.prepare(node.config, tmp_path / "gaiax", "Alpha Werke GmbH")
    try:
        node.start()
        document = httpx.get(node.base + "/.well-known/did.json").json()
        gx = next(vm for vm in document["verificationMethod"] if vm["type"] == "JsonWebKey2020")
        assert gx["id"] in document["assertionMethod"] and gx["id"] not in document["authentication"]
        assert gx["publicKeyJwk"]["x5u"] == node.base + CHAIN_PATH and gx["publicKeyJwk"]["crv"] == "P-256"
        chain = httpx.get(gx["publicKeyJwk"]["x5u"])
        assert chain.status_code == 200
        check_key_matches_chain(gx["publicKeyJwk"], parse_chain(chain.content))
        run = subprocess.run([sys.executable, "-m", "connector.cli.main", "gaiax", "onboard", "-c", str(node.config)],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert "Gaia-X label SC" in run.stderr
        settings = load_settings(node.config)
        db = Database(settings.database_url)
        try:
            stored = {c.kind: c for c in store.load(db)}
        finally:
            db.dispose()
        served = httpx.get(stored["label"].id)
        assert served.status_code == 200 and served.text == stored["label"].jwt
        covered = [stored[k].jwt for k in ("legal-person", "issuer", "registration")]
        label = verify_label(served.text, covered, node.participant_id, resolver_for(settings),
                             [f"did:web:{step.mock_base.split('//')[1].replace(':', '%3A')}:compliance:v2"],
                             datetime.now(UTC))
        assert label.level == "SC"
    finally:
        step.stop()
        if node.process is not None:
            node.process.stop()
