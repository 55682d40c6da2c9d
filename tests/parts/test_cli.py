"""``connector parts import``: the example chain loads into a copy of examples/supply-chain; a bad file loads nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from connector.cli.main import app
from connector.config import load_settings
from connector.services.container import build

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "supply-chain"


def shells(config: Path) -> list[dict]:
    services = build(load_settings(config))
    try:
        services.db.migrate()
        from connector.parts.registry import OWNER

        return services.parts.registry.shells(OWNER)["result"]
    finally:
        services.db.dispose()


def test_the_example_chain_imports_and_a_bad_file_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "supply-chain"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("var"))
    runner = CliRunner()
    config = folder / "nordguss.toml"
    done = runner.invoke(app, ["parts", "import", "--config", str(config), str(folder / "parts" / "nordguss.json")])
    assert done.exit_code == 0, done.output
    assert "2 twins created" in " ".join(done.output.split())
    assert {s["globalAssetId"] for s in shells(config)} == {
        "urn:uuid:2c8de93a-06b0-46d8-8e4f-13f94294402c", "urn:uuid:24717a15-9579-4b58-b92f-f9c19e5cd880"}

    items = json.loads((folder / "parts" / "achsen.json").read_text())
    items[0]["payload"]["manufacturingInformation"]["country"] = "Deutschland"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(items))
    refused = runner.invoke(app, ["parts", "import", "--config", str(config), str(bad)])
    assert refused.exit_code == 1
    said = " ".join(refused.output.split())  # the console wraps long lines
    assert "nothing imported" in said and "[0].payload.manufacturingInformation.country" in said
    assert len(shells(config)) == 2

    unknown_policy = runner.invoke(app, ["parts", "import", "--config", str(config), "--policy", "nope",
                                         str(folder / "parts" / "nordguss.json")])
    assert unknown_policy.exit_code == 1 and "nope" in unknown_policy.output
