"""Footprints flow tier-2 → tier-1 → OEM over the examples/supply-chain configs, as real processes.

The folder is copied to a temp folder (ports replaced by free ones, so parallel runs never
collide) and each company started with ``connector serve``. Nordguss imports its casting PCF,
Achsen rolls its axle module up from it and publishes, Motorwerke rolls the vehicle up from
Achsen's, asks Achsen through the CX-0136 asynchronous flow, and hears of Nordguss's update.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from connector.cli.launch import free_port, start_connector, wait_ready
from tests.harness import settle

pytestmark = pytest.mark.integration

FOLDER = Path(__file__).resolve().parents[2] / "examples" / "supply-chain"
PORTS = {"nordguss": "8411", "achsen": "8412", "motorwerke": "8413"}
HEADER = "productId,productName,declaredUnit,pcfExcludingBiogenicUptake,productMassPerDeclaredUnit\n"


class Company:
    def __init__(self, name: str, folder: Path, endpoints: dict) -> None:
        self.name, self.folder = name, folder
        self.config = folder / f"{name}.toml"
        self.api_key, self.bpn = endpoints[name]["api_key"], endpoints[name]["bpn"]
        self.port = int(self.config.read_text().split("port = ")[1].split()[0])
        self.base = f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "connector.cli.main", "pcf", *args, "--config", str(self.config)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == expect, f"{self.name} pcf {args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def get(self, path: str, **params) -> httpx.Response:
        return httpx.get(f"{self.base}/management{path}", params=params, headers={"X-Api-Key": self.api_key}, timeout=30)

    def post(self, path: str, content: str, content_type: str) -> httpx.Response:
        return httpx.post(f"{self.base}/management{path}", content=content, timeout=30,
                          headers={"X-Api-Key": self.api_key, "Content-Type": content_type})


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("supply-chain")
    shutil.copytree(FOLDER, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("var"))
    new = {name: str(free_port()) for name in PORTS}
    for path in [*folder.glob("*.toml"), folder / "endpoints.json"]:
        text = path.read_text()
        for name, port in PORTS.items():
            text = text.replace(port, f"@{name}@")
        for name, port in new.items():
            text = text.replace(f"@{name}@", port)
        path.write_text(text)
    endpoints = json.loads((folder / "endpoints.json").read_text())
    companies = {name: Company(name, folder, endpoints) for name in PORTS}
    processes = [start_connector(c.name, c.config, folder / f"{c.name}.log", c.base) for c in companies.values()]
    try:
        for process in processes:
            wait_ready(process, timeout=120)  # a loaded machine starts them slowly
        yield companies
    finally:
        for process in processes:
            process.stop()


def test_footprints_flow_up_the_chain_and_roll_up_at_each_tier(chain, tmp_path) -> None:
    nordguss, achsen, motorwerke = chain["nordguss"], chain["achsen"], chain["motorwerke"]
    (tmp_path / "casting.csv").write_text(HEADER + "NG-WC-400,Wheel-carrier casting NG-WC-400,piece,12.5,4.2\n")
    nordguss.cli("import", str(tmp_path / "casting.csv"))
    (tmp_path / "bearing.csv").write_text(HEADER + "AX-BRG-62,Bearing AX-BRG-62,piece,1.8,0.4\n")
    achsen.cli("import", str(tmp_path / "bearing.csv"))

    # tier 1: Achsen rolls its module up from Nordguss's signed casting PCF and its own bearing
    module_bom = {"productId": "AX-RM-7", "productName": "Rear-axle module AX-RM-7", "declaredUnit": "piece",
                  "ownEmissions": {"pcfExcludingBiogenicUptake": 30}, "components": [
                      {"productId": "NG-WC-400", "supplierBpn": nordguss.bpn, "quantity": 2, "unit": "piece"},
                      {"productId": "AX-BRG-62", "supplierBpn": achsen.bpn, "quantity": 2, "unit": "piece"}]}
    (tmp_path / "module.json").write_text(json.dumps(module_bom))
    module = json.loads(achsen.cli("rollup", "--bom", str(tmp_path / "module.json"), "--publish", "--json").stdout)
    assert module["pcfExcludingBiogenicUptake"] == 58.6
    assert [(c["contribution"], c["status"]) for c in module["components"]] == [(25, "ok"), (3.6, "ok")]
    [casting] = nordguss.get("/v3/pcf/footprints").json()
    published = achsen.get(f"/v3/pcf/footprints/{module['published']['id']}").json()
    assert casting["id"] in published["precedingPfIds"]
    [received] = achsen.get("/v3/pcf/received", productId="NG-WC-400").json()
    assert received["signer"].startswith("did:web:localhost%3A" + str(nordguss.port))
    assert received["document"]["proof"]["cryptosuite"] == "eddsa-jcs-2022"

    # OEM: Motorwerke rolls the vehicle up from Achsen's module, then asks again the CX-0136 way
    vehicle_bom = {"productId": "MW-V-1", "productName": "Vehicle MW-V-1", "declaredUnit": "piece",
                   "ownEmissions": {"pcfExcludingBiogenicUptake": 4200.5}, "components": [
                       {"productId": "AX-RM-7", "supplierBpn": achsen.bpn, "quantity": 1, "unit": "piece"}]}
    (tmp_path / "vehicle.json").write_text(json.dumps(vehicle_bom))
    vehicle = json.loads(motorwerke.cli("rollup", "--bom", str(tmp_path / "vehicle.json"), "--publish",
                                        "--json").stdout)
    assert vehicle["pcfExcludingBiogenicUptake"] == 4259.1
    asked = json.loads(motorwerke.cli("request", "--supplier", achsen.bpn, "--product", "AX-RM-7", "--mode", "async",
                                      "--json").stdout)
    assert (asked["status"], asked["via"]) == ("ok", "response")
    assert asked["footprint"]["pcf"]["pcfExcludingBiogenicUptake"] == 58.6
    assert asked["signer"].startswith(f"did:web:localhost%3A{achsen.port}#")

    # a missing product: exit 1, the reason says so
    missing = json.loads(motorwerke.cli("request", "--supplier", achsen.bpn, "--product", "NO-SUCH-PART", "--json",
                                        expect=1).stdout)
    assert missing["status"] == "missing" and "NO-SUCH-PART" in missing["reason"]

    # a component nobody offers: the roll-up names it and exits 1, unless --allow-missing
    vehicle_bom["components"].append({"productId": "NO-SUCH-PART", "supplierBpn": achsen.bpn, "quantity": 1,
                                      "unit": "piece"})
    (tmp_path / "vehicle.json").write_text(json.dumps(vehicle_bom))
    failed = motorwerke.cli("rollup", "--bom", str(tmp_path / "vehicle.json"), expect=1)
    assert "NO-SUCH-PART" in failed.stderr and "missing" in failed.stderr
    partial = json.loads(motorwerke.cli("rollup", "--bom", str(tmp_path / "vehicle.json"), "--allow-missing",
                                        "--json").stdout)
    assert partial["pcfExcludingBiogenicUptake"] == 4259.1
    assert [c["status"] for c in partial["components"]] == ["ok", "missing"]

    # the caller's BPN comes from its verified EDR, not from a header it sets (legacy /productIds form)
    [edr] = httpx.post(f"{motorwerke.base}/management/v3/edrs/request", headers={"X-Api-Key": motorwerke.api_key},
                       json={"filterExpression": [{"operandLeft": "assetId", "operator": "=",
                                                   "operandRight": "pcf-exchange"}]}).json()
    address = motorwerke.get(f"/v3/edrs/{edr['transferProcessId']}/dataaddress").json()
    forged = httpx.get(f"{address['endpoint']}/productIds/AX-RM-7", params={"requestId": "legacy-1"},
                       headers={"Authorization": address["authorization"], "Edc-Bpn": nordguss.bpn}, timeout=30)
    assert forged.status_code == 202
    def answered() -> dict | None:
        rows = [r for r in achsen.get("/v3/pcf/exchanges", role="supplier").json() if r["requestId"] == "legacy-1"]
        return rows[0] if rows and rows[0]["attempts"] else None

    row = settle(until=answered, timeout=20, what="Achsen to have tried to answer the legacy request")
    assert (row["counterpartyBpn"], row["legacy"]) == (motorwerke.bpn, True)
    # Motorwerke never asked "legacy-1" itself, so it refuses the answer: nothing unrequested is kept
    assert "no request 'legacy-1'" in row["error"]

    # Nordguss updates its casting: Achsen, which received the old one, is told (update=true)
    (tmp_path / "casting2.csv").write_text(HEADER + "NG-WC-400,Wheel-carrier casting NG-WC-400,piece,11.9,4.2\n")
    nordguss.cli("import", str(tmp_path / "casting2.csv"))
    def both_kept() -> dict | None:
        kept = {r["footprintId"]: r for r in achsen.get("/v3/pcf/received", productId="NG-WC-400").json()}
        return kept if len(kept) == 2 else None

    kept = settle(until=both_kept, timeout=20, what="Achsen to keep both the old casting PCF and its update")
    assert kept[casting["id"]]["status"] == "Deprecated"
    [update] = [r for r in kept.values() if r["footprintId"] != casting["id"]]
    assert (update["via"], update["status"]) == ("update", "Active")
    assert update["document"]["precedingPfIds"] == [{"id": casting["id"]}]


def test_a_broken_csv_through_the_management_api_stores_nothing(chain) -> None:
    achsen = chain["achsen"]
    before = achsen.get("/v3/pcf/footprints").json()
    answer = achsen.post("/v3/pcf/footprints", HEADER + "AX-X-1,Part,piece,1,\nAX-X-2,Part 2,piece,-4,\n", "text/csv")
    assert answer.status_code == 400
    assert any(e["message"].startswith("row 3, column pcfExcludingBiogenicUptake") for e in answer.json())
    assert achsen.get("/v3/pcf/footprints").json() == before


def test_a_misspelt_parameter_is_refused_naming_the_closest(chain) -> None:
    achsen = chain["achsen"]
    answer = achsen.post("/v3/pcf/footprints?polcy=pcf-exchange-usage", HEADER + "AX-X-1,Part,piece,1,\n", "text/csv")
    assert answer.status_code == 400 and "did you mean 'policy'" in answer.json()[0]["message"]
    assert all(f["productId"] != "AX-X-1" for f in achsen.get("/v3/pcf/footprints").json())
