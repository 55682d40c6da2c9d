"""The README's first hour, run exactly as written: its commands are taken from README.md, so the
README and this test cannot drift. Only the ports change (8181/8282 → free ones), so that the
test can run beside other connectors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from connector.cli.launch import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_block(name: str) -> str:
    text = README.read_text()
    found = re.search(rf"<!-- {name}:begin -->\s*```sh\n(.*?)```\s*<!-- {name}:end -->", text, re.S)
    assert found, f"README.md has no {name} block"
    return found.group(1)


def run_script(script: str, workdir: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PONTIS_CONFIG", None)
    env.pop("DATABASE_URL", None)
    # its own process group: whatever the script leaves running is stopped with it
    process = subprocess.Popen(["bash", "-c", "set -euo pipefail\n" + script], cwd=workdir, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        raise AssertionError(f"the README's commands did not finish in {timeout} s:\n{out}\n{err}") from None
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def logs(workdir: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(workdir.glob("*.log")))


@pytest.mark.integration
def test_the_readmes_first_hour_works_as_written(tmp_path):
    script = readme_block("first-hour")
    provider_port, consumer_port = free_port(), free_port()
    script = script.replace("8181", str(provider_port)).replace("8282", str(consumer_port))
    run = run_script(script, tmp_path)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{logs(tmp_path)}"
    assert json.loads((tmp_path / "hello-pcf.json").read_text())["pcf"] == {"value": 12.5, "unit": "kg CO2e"}
    assert "fetched hello-pcf" in run.stderr
    # the peers came from their DIDs alone: the DSP URLs were read from the DID documents
    assert f"at http://127.0.0.1:{consumer_port}/api/dsp/2025-1" in run.stdout
    # the provider signed the agreement and the consumer checked it against the provider's DID document
    assert "signature not checked" not in logs(tmp_path)


@pytest.mark.integration
def test_the_running_a_connector_example_negotiates_with_an_unresolvable_did(tmp_path):
    """`connector init --participant-id did:web:example.com` (README, "Running a connector"), as
    written: in static-token mode a signer whose DID document cannot be fetched does not stop the
    agreement (it is kept unchecked, and the log says so)."""
    running = README.read_text().split("## Running a connector", 1)[1]
    init = next(line for line in running.splitlines() if "connector init" in line)
    assert "--participant-id did:web:example.com" in init
    p, c = free_port(), free_port()
    provider_init = init.replace(".venv/bin/connector", "connector") + f" --port {p}"
    script = f"""
{provider_init}
connector init --participant-id did:web:consumer.example.com --bpn BPNL000000000002 --port {c} --out consumer.toml
connector serve --config company.toml > provider.log 2>&1 &
connector serve --config consumer.toml > consumer.log 2>&1 &
curl -s --retry 30 --retry-connrefused --retry-delay 1 http://127.0.0.1:{p}/.well-known/dspace-version
curl -s --retry 30 --retry-connrefused --retry-delay 1 http://127.0.0.1:{c}/.well-known/dspace-version
connector peer add did:web:consumer.example.com --config company.toml --bpn BPNL000000000002 \\
  --token "$(connector peer token --config consumer.toml)" --dsp-url http://127.0.0.1:{c}/api/dsp/2025-1 \
  --claims '{{"frameworkAgreements": {{"DataExchangeGovernance": "1.0"}}}}'
connector peer add did:web:example.com --config consumer.toml \\
  --token "$(connector peer token --config company.toml)" --dsp-url http://127.0.0.1:{p}/api/dsp/2025-1
K="X-Api-Key: $(grep '^api_key' company.toml | cut -d '"' -f 2)"
M=http://127.0.0.1:{p}/management/v3
curl -sf -H "$K" $M/assets -d '{{"@id": "doc", "properties": {{}},
  "dataAddress": {{"type": "PontisDocument", "document": {{"ok": true}}}}}}'
curl -sf -H "$K" $M/policydefinitions -d '{{"@id": "open", "policy": {{"@type": "Set", "allowAll": true}}}}'
curl -sf -H "$K" $M/policydefinitions -d '{{"@id": "use", "policy": {{"@type": "Set", "permission": [{{"action": "use",
  "constraint": [{{"leftOperand": "https://w3id.org/catenax/2025/9/policy/FrameworkAgreement", "operator": "eq",
    "rightOperand": "DataExchangeGovernance:1.0"}}, {{"leftOperand": "https://w3id.org/catenax/2025/9/policy/UsagePurpose",
    "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}}]}}]}}}}'
curl -sf -H "$K" $M/contractdefinitions -d '{{"@id": "cd", "accessPolicyId": "open", "contractPolicyId": "use",
  "assetsSelector": [{{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=", "operandRight": "doc"}}]}}'
connector fetch --config consumer.toml --peer did:web:example.com --asset doc --out doc.json
kill $(jobs -p)
"""
    run = run_script(script, tmp_path)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{logs(tmp_path)}"
    assert json.loads((tmp_path / "doc.json").read_text()) == {"ok": True}
    assert "signature not checked" in (tmp_path / "consumer.log").read_text()
