"""examples/two-party as real processes: `connector fetch` and tractusx-sdk get the demo PCF.

The example's files are copied to a temporary folder with free ports in place of 8301/8302 (in
the configs, the participant ids and endpoints.json alike), then both connectors start with
``connector serve --config …``. The checks of endpoints.json against the configs run without
processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from connector.cli.launch import ConnectorProcess, free_port, start_connector, wait_ready
from connector.config import DSP_PATH, MANAGEMENT_PATH, load_settings
from tests.management.test_tractusx_sdk import sdk_python

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "two-party"
DRIVER = REPO / "tests" / "management" / "sdk_driver.py"


def connector_cli() -> list[str]:
    script = Path(sys.executable).parent / "connector"
    return [str(script)] if script.exists() else [sys.executable, "-m", "connector.cli.main"]


def test_endpoints_json_tells_where_each_party_is() -> None:
    endpoints = json.loads((EXAMPLE / "endpoints.json").read_text())
    for name in ("provider", "consumer"):
        settings = load_settings(EXAMPLE / f"{name}.toml")
        entry = endpoints[name]
        assert set(entry) == {"management_url", "api_key", "dsp_url", "participant_id"}
        assert entry["management_url"] == settings.public_url + MANAGEMENT_PATH
        assert entry["dsp_url"] == settings.dsp_url == settings.public_url + DSP_PATH
        assert (entry["api_key"], entry["participant_id"]) == (settings.api_key, settings.participant_id)
        assert settings.database_url.endswith(f"examples/two-party/var/{name}.db")  # relative to the config
    provider, consumer = (load_settings(EXAMPLE / f"{n}.toml") for n in ("provider", "consumer"))
    assert consumer.peer_by_id(provider.participant_id).dsp_url == provider.dsp_url  # they know each other
    assert provider.peer_by_id(consumer.participant_id).token == consumer.token
    assert consumer.peer_by_id(provider.participant_id).token == provider.token


def test_the_provider_seed_holds_the_demo_pcf() -> None:
    seed = json.loads((EXAMPLE / "provider-seed.json").read_text())
    [asset] = [a for a in seed["assets"] if a["@id"] == "demo-pcf"]
    pcf = asset["dataAddress"]["document"]
    assert asset["dataAddress"]["type"] == "PontisDocument"
    assert pcf["specVersion"] == ["urn:io.catenax.pcf:datamodel:version:8.0.0"]
    assert pcf["pcf"]["pcfExcludingBiogenicUptake"] == 12.5 and pcf["pcf"]["declaredUnitOfMeasurement"] == "piece"
    assert pcf["companyIds"] == ["urn:BPNL0000000NGUSS"] and pcf["productIds"] == ["urn:mpn:NG-WC-400"]


@pytest.fixture(scope="module")
def parties(tmp_path_factory):  # type: ignore[no-untyped-def]
    workdir = tmp_path_factory.mktemp("two-party")
    ports = {"8301": str(free_port()), "8302": str(free_port())}
    for source in EXAMPLE.iterdir():
        if source.is_file():
            text = source.read_text()
            for old, new in ports.items():
                text = text.replace(old, new)
            (workdir / source.name).write_text(text)
    processes: list[ConnectorProcess] = []
    try:
        for name, port in (("provider", ports["8301"]), ("consumer", ports["8302"])):
            process = start_connector(name, workdir / f"{name}.toml", workdir / f"{name}.log",
                                      f"http://127.0.0.1:{port}")
            processes.append(process)
            wait_ready(process)
        yield workdir, json.loads((workdir / "endpoints.json").read_text())
    finally:
        for process in processes:
            process.stop()


def fetch(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*connector_cli(), "fetch", "--config", str(workdir / "consumer.toml"), *args],
                          capture_output=True, timeout=120, cwd=workdir)


def logs(workdir: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in sorted(workdir.glob("*.log")))


@pytest.mark.integration
def test_connector_fetch_gets_the_pcf_into_a_file(parties) -> None:  # type: ignore[no-untyped-def]
    workdir, endpoints = parties
    run = fetch(workdir, "--peer", endpoints["provider"]["participant_id"], "--asset", "demo-pcf",
                "--out", str(workdir / "pcf.json"))
    assert run.returncode == 0, run.stderr.decode() + logs(workdir)
    pcf = json.loads((workdir / "pcf.json").read_text())
    assert pcf["pcf"]["pcfExcludingBiogenicUptake"] == 12.5 and pcf["productIds"] == ["urn:mpn:NG-WC-400"]
    assert b"fetched demo-pcf" in run.stderr


@pytest.mark.integration
def test_connector_fetch_by_dsp_url_writes_to_stdout(parties) -> None:  # type: ignore[no-untyped-def]
    workdir, endpoints = parties
    run = fetch(workdir, "--peer", endpoints["provider"]["dsp_url"], "--asset", "demo-pcf")
    assert run.returncode == 0, run.stderr.decode() + logs(workdir)
    assert json.loads(run.stdout)["companyName"] == "Nordguss GmbH"


@pytest.mark.integration
def test_connector_fetch_fails_with_the_reason(parties) -> None:  # type: ignore[no-untyped-def]
    workdir, endpoints = parties
    run = fetch(workdir, "--peer", endpoints["provider"]["participant_id"], "--asset", "no-such-asset")
    assert run.returncode == 1 and b"offers no dataset 'no-such-asset'" in run.stderr, run.stderr
    run = fetch(workdir, "--peer", "did:web:stranger", "--asset", "demo-pcf")
    assert run.returncode == 1 and b"not a known peer" in run.stderr, run.stderr


@pytest.mark.integration
def test_tractusx_sdk_gets_the_pcf_through_the_edr_api(parties, record_property) -> None:  # type: ignore[no-untyped-def]
    python, sdk_version = sdk_python()
    if python is None:
        pytest.skip(sdk_version)
    record_property("tractusx_sdk_version", sdk_version)
    workdir, _ = parties
    run = subprocess.run([python, str(DRIVER), "--edr-flow", "--endpoints", str(workdir / "endpoints.json"),
                          "--asset", "demo-pcf"], capture_output=True, text=True, timeout=180)
    assert run.stdout.strip(), f"the driver printed nothing:\n{run.stderr[-3000:]}\n{logs(workdir)}"
    result = json.loads(run.stdout)
    failed = {name: step for name, step in result["steps"].items() if not step["ok"]}
    assert run.returncode == 0 and not failed and result["failure"] is None, (
        f"tractusx-sdk {result['sdk_version']}: {json.dumps(failed, indent=1)[:4000]}\n{result['failure']}\n"
        f"{logs(workdir)}")
    steps = {name: step["body"] for name, step in result["steps"].items()}
    assert steps["do_get"]["pcf"]["pcfExcludingBiogenicUptake"] == 12.5
    assert steps["do_get_again"] == steps["do_get"]
    assert steps["edr"]["endpoint"].endswith("/api/public") and steps["edr"]["has_token"]
    assert steps["edr_refresh"]["authorization"] and steps["edr_refresh"]["tx-auth:refreshToken"]
    transfer = steps["transfer"]
    assert transfer["@id"] == steps["cached_transfer_id"]["transferProcessId"] and transfer["state"] == "STARTED"
    # the second do_get found the EDR in the SDK's cache: the same transfer, no new negotiation
    assert steps["transfer_id_again"] == steps["cached_transfer_id"]
    consumer = load_settings(workdir / "consumer.toml")
    negotiations = httpx.post(consumer.public_url + MANAGEMENT_PATH + "/v3/contractnegotiations/request",
                              headers={"X-Api-Key": consumer.api_key}, json={}, timeout=30).json()
    assert transfer["contractId"] in [n.get("contractAgreementId") for n in negotiations
                                      if any(c["uri"] == "local://adapter" for c in n["callbackAddresses"])]
