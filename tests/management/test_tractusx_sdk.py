"""tractusx-sdk, unmodified, drives two real connector processes through their management APIs.

The SDK needs Python >= 3.12 and is not a dependency of the project, so the driver
(``sdk_driver.py``) runs in a separate interpreter: ``$PONTIS_SDK_PYTHON``, else
``/tmp/venv312/bin/python``. Without one that can import ``tractusx_sdk`` the test is skipped,
saying so. Set it up with::

    python3.12 -m venv /tmp/venv312 && /tmp/venv312/bin/pip install tractusx-sdk

Verified with tractusx-sdk 0.8.3.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.harness import settle

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DRIVER = HERE / "sdk_driver.py"
API_KEY = "sdk-test-key"


def sdk_python() -> tuple[str | None, str]:
    """The interpreter to run the driver with, or None and the reason there is none."""
    candidates = [os.environ.get("PONTIS_SDK_PYTHON"), "/tmp/venv312/bin/python"]
    reasons = []
    for candidate in filter(None, candidates):
        if not Path(candidate).exists():
            reasons.append(f"{candidate}: not found")
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys, tractusx_sdk; from importlib.metadata import version; "
                              "assert sys.version_info >= (3, 12), sys.version; print(version('tractusx-sdk'))"],
            capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return candidate, probe.stdout.strip()
        reasons.append(f"{candidate}: {probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else 'failed'}")
    return None, "no Python >= 3.12 with tractusx-sdk importable (set PONTIS_SDK_PYTHON); " + "; ".join(reasons)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(path: Path, participant_id: str, port: int, token: str, peer_id: str, peer_token: str,
                 peer_dsp: str) -> None:
    path.write_text("\n".join([
        f'participant_id = "{participant_id}"',
        f'api_key = "{API_KEY}"',
        f'token = "{token}"',
        f'database_url = "sqlite:///{path.with_suffix(".db")}"',
        "[server]", 'host = "127.0.0.1"', f"port = {port}",
        # the peer's DSP URL: where we may call it, and where its callbacks must point
        "[[peers]]", f'id = "{peer_id}"', f'token = "{peer_token}"', f'dsp_url = "{peer_dsp}"',
        # static-token mode: what the peer may claim comes from the config
        'claims = {membership = true, frameworkAgreements = {DataExchangeGovernance = "1.0"}}', "",
    ]))


def serve_command(config: Path, port: int) -> tuple[list[str], dict]:
    """``connector serve`` when the CLI has it, else uvicorn with the factory in serve_app.py."""
    connector = Path(sys.executable).parent / "connector"
    env = dict(os.environ)
    if connector.exists():
        probe = subprocess.run([str(connector), "serve", "--help"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return [str(connector), "serve", "--config", str(config), "--log-level", "warning"], env
    env["MGMT_TEST_CONFIG"] = str(config)
    return [sys.executable, "-m", "uvicorn", "--factory", "tests.management.serve_app:app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env


def wait_ready(base: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the connector at {base} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(base + "/.well-known/dspace-version", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    settle(until=answers, timeout=timeout, what=lambda: f"the connector at {base} to start:\n{log.read_text()[-3000:]}")


@pytest.fixture
def two_connectors(tmp_path):
    ids = {"provider": "did:web:provider.sdk.test", "consumer": "did:web:consumer.sdk.test"}
    ports = {"provider": free_port(), "consumer": free_port()}
    processes = []
    try:
        for name, other in (("provider", "consumer"), ("consumer", "provider")):
            config = tmp_path / f"{name}.toml"
            write_config(config, ids[name], ports[name], f"token-{name}", ids[other], f"token-{other}",
                         f"http://127.0.0.1:{ports[other]}/api/dsp/2025-1")
            command, env = serve_command(config, ports[name])
            log = tmp_path / f"{name}.log"
            with log.open("w") as out:
                process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
            processes.append(process)
            wait_ready(f"http://127.0.0.1:{ports[name]}", process, log)
        yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}, ids, tmp_path
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_tractusx_sdk_drives_the_management_api(two_connectors, record_property):
    python, sdk_version = sdk_python()
    if python is None:
        pytest.skip(sdk_version)
    record_property("tractusx_sdk_version", sdk_version)
    urls, ids, tmp_path = two_connectors
    run = subprocess.run(
        [python, str(DRIVER), "--provider", urls["provider"], "--consumer", urls["consumer"], "--api-key", API_KEY,
         "--provider-id", ids["provider"], "--provider-dsp", urls["provider"] + "/api/dsp/2025-1"],
        capture_output=True, text=True, timeout=180)
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(tmp_path.glob("*.log")))
    assert run.stdout.strip(), f"the driver printed nothing:\n{run.stderr[-3000:]}\n{logs}"
    result = json.loads(run.stdout)
    failed = {name: step for name, step in result["steps"].items() if not step["ok"]}
    assert run.returncode == 0 and not failed and result["failure"] is None, (
        f"tractusx-sdk {result['sdk_version']}: {json.dumps(failed, indent=1)[:4000]}\n{result['failure']}\n{logs}")
    steps = {name: step["body"] for name, step in result["steps"].items()}

    assert result["sdk_version"] == sdk_version
    assert steps["create_asset"]["@id"] == "sdk-asset-1"
    assert [a["@id"] for a in steps["query_assets_by_dct_type"]] == ["sdk-asset-1"]
    assert steps["get_asset"]["properties"]["dct:type"] == {"@id": "https://w3id.org/catenax/taxonomy#PcfExchange"}
    assert steps["validate_policy"]["isValid"] is True
    assert steps["evaluation_plan"]["rules"][0]["action"] == "use"
    assert [d["@id"] for d in steps["catalog_by_asset_id"]["dataset"]] == ["sdk-asset-1"]
    assert [d["@id"] for d in steps["catalog_by_dct_type"]["dataset"]] == ["sdk-asset-1"]
    assert steps["negotiation_state"]["state"] == "FINALIZED"
    negotiation = steps["get_negotiation"]
    assert negotiation["counterPartyId"] == ids["provider"] and negotiation["type"] == "CONSUMER"
    agreement = steps["get_agreement"]
    assert agreement["@id"] == negotiation["contractAgreementId"] and agreement["assetId"] == "sdk-asset-1"
    assert agreement["providerId"] == ids["provider"] and agreement["consumerId"] == ids["consumer"]
    assert steps["agreement_negotiation"]["@id"] == negotiation["@id"]
