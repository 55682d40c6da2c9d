"""IRS-style jobs over examples/supply-chain: three real connectors, parts imported, hop-by-hop traversal."""

from __future__ import annotations

import subprocess
import sys

import pytest

from connector.parts.models import normal_id
from tests.harness import settle
from tests.provenance.conftest import Company, imported

pytestmark = pytest.mark.integration

VEHICLE_1, VAN_1 = "urn:uuid:d11ac71b-7efe-43f2-83d0-77a8b56ea1e7", "WMW00000000000001"
BEARINGS = "urn:uuid:6fcbe3b7-3ac0-44d8-8823-cb2b5193347e"
CASTINGS = "urn:uuid:2c8de93a-06b0-46d8-8e4f-13f94294402c"
MOTORWERKE, ACHSEN, NGUSS = "BPNL00000MOTORWK", "BPNL00000ACHSEAG", "BPNL0000000NGUSS"


def imported_edges(kind: str) -> set[tuple[str, str, float | None]]:
    """(parent, child, quantity) of every BOM ("childItems") or usage ("parentItems") edge in the files."""
    edges = set()
    for company in ("nordguss", "achsen", "motorwerke"):
        for item in imported(company):
            payload = item["payload"]
            own = normal_id(payload.get("catenaXId") or payload["globalAssetId"])
            for other in payload.get(kind, []):
                other_id = normal_id(other.get("catenaXId") or other["globalAssetId"])
                quantity = (other.get("quantity") or {}).get("value")
                edges.add((own, other_id, quantity) if kind == "childItems" else (other_id, own, quantity))
    return edges


def hidden_from_motorwerke() -> set[str]:
    """The suppliers' parts whose twins the files do not show to Motorwerke (their traversal gets a tombstone)."""
    hidden = set()
    for company in ("nordguss", "achsen"):
        for item in imported(company):
            if MOTORWERKE not in item["visibleTo"]:
                hidden.add(normal_id(item["payload"].get("catenaXId") or item["payload"]["globalAssetId"]))
    return hidden


def returned_edges(answer: dict) -> set[tuple[str, str, float | None]]:
    return {(normal_id(r["catenaXId"]), normal_id(r["linkedItem"]["childCatenaXId"]),
             (r["linkedItem"].get("quantity") or {}).get("quantityNumber")) for r in answer["relationships"]}


def run(company: Company, key: dict, **extra) -> dict:  # type: ignore[no-untyped-def]
    created = company.call("POST", "/irs/jobs", json={"key": key, "bomLifecycle": "asBuilt", **extra})
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]

    def finished() -> dict | None:
        answer = company.call("GET", f"/irs/jobs/{job_id}")
        assert answer.status_code in (200, 206), answer.text
        return answer.json() if answer.status_code == 200 else None

    return settle(until=finished, timeout=60, what=f"job {job_id} to finish")


def test_downward_jobs_return_exactly_the_imported_bom(supply_chain):
    motorwerke = supply_chain["motorwerke"]
    vehicles = [i["payload"].get("catenaXId") or i["payload"]["globalAssetId"] for i in imported("motorwerke")
                if "childItems" in i["payload"]]
    union = set()
    for vehicle in vehicles:
        answer = run(motorwerke, {"globalAssetId": vehicle, "bpn": MOTORWERKE}, direction="downward",
                     collectAspects=True, aspects=["SerialPart", "Batch"])
        assert answer["job"]["state"] == "COMPLETED"
        union |= returned_edges(answer)
        nodes = {normal_id(n["catenaXId"]): n for n in answer["nodes"]}
        assert nodes[normal_id(vehicle)]["signature"] == "own"
        # the example companies have keys ([identity] generate_key): every supplier submodel is signed
        assert nodes[normal_id(BEARINGS)]["signature"] == "verified"
        # a twin its owner does not show to Motorwerke is a tombstone that says so; the rest of the tree is there
        assert {normal_id(s["catenaXId"]) for s in answer["tombstones"]} == hidden_from_motorwerke() & set(nodes), \
            answer["tombstones"]
        for stone in answer["tombstones"]:
            assert "not visible to BPNL00000MOTORWK" in stone["processingError"]["errorDetail"]
        assert {s["aspectType"].rsplit("#")[-1] for s in answer["submodels"]} == {"SerialPart", "Batch"}
        assert all(s["contractAgreementId"] for s in answer["submodels"] if s["catenaXId"] != vehicle)
        assert {b["manufacturerId"] for b in answer["bpns"]} == {MOTORWERKE, ACHSEN, NGUSS}
    assert union == imported_edges("childItems")


def test_an_upward_job_climbs_from_the_bearing_batch_to_both_vehicles(supply_chain):
    answer = run(supply_chain["motorwerke"], {"globalAssetId": BEARINGS, "bpn": ACHSEN}, direction="upward")
    assert answer["job"]["state"] == "COMPLETED" and answer["tombstones"] == []
    usage = {e for e in imported_edges("parentItems") if e[1] != normal_id(CASTINGS)}  # Nordguss's is not on this path
    assert returned_edges(answer) == usage
    assert all(r["aspectType"] == "SingleLevelUsageAsBuilt" for r in answer["relationships"])


def test_depth_one_stops_after_the_first_level(supply_chain):
    answer = run(supply_chain["motorwerke"], {"globalAssetId": VEHICLE_1, "bpn": MOTORWERKE}, depth=1)
    assert [normal_id(r["linkedItem"]["childCatenaXId"]) for r in answer["relationships"]] == [
        "0cca71fb-80ff-4d36-8db1-4751129478be"]
    assert answer["tombstones"] == []


def test_unknown_parts_jobs_and_fields_are_refused_by_name(supply_chain):
    motorwerke = supply_chain["motorwerke"]
    unknown = "urn:uuid:00000000-0000-4000-8000-000000000000"
    answer = motorwerke.call("POST", "/irs/jobs", json={"key": {"globalAssetId": unknown, "bpn": MOTORWERKE}})
    assert answer.status_code == 404 and unknown in answer.json()["messages"][0]
    answer = motorwerke.call("POST", "/irs/jobs", json={"key": {"globalAssetId": unknown, "bpn": "BPNL00000000NONE"}})
    assert answer.status_code == 404 and "no connector is known for BPNL00000000NONE" in answer.json()["messages"][0]
    answer = motorwerke.call("POST", "/irs/jobs", json={"key": {"globalAssetId": VEHICLE_1, "bpn": MOTORWERKE},
                                                         "direction": "sideways"})
    assert answer.status_code == 400 and answer.json()["messages"] == [
        "direction: expected 'downward' or 'upward', got 'sideways'"]
    assert motorwerke.call("GET", "/irs/jobs/no-such-job").status_code == 404
    assert motorwerke.call("PUT", "/irs/jobs/no-such-job").status_code == 404
    assert motorwerke.call("GET", "/irs/jobs", headers={"X-Api-Key": "wrong"}).status_code == 401


def test_jobs_are_listed_cancel_refuses_a_finished_one_and_the_picture_is_served(supply_chain):
    motorwerke = supply_chain["motorwerke"]
    answer = run(motorwerke, {"globalAssetId": VEHICLE_1, "bpn": MOTORWERKE})
    job_id = answer["job"]["id"]
    listed = motorwerke.call("GET", "/irs/jobs", params={"states": "COMPLETED", "size": 100}).json()
    assert job_id in [j["id"] for j in listed["content"]] and listed["totalElements"] >= 1
    refused = motorwerke.call("PUT", f"/irs/jobs/{job_id}")
    assert refused.status_code == 400 and "COMPLETED" in refused.json()["messages"][0]
    picture = motorwerke.call("GET", f"/irs/jobs/{job_id}/tree.html")
    assert picture.status_code == 200 and picture.headers["content-type"].startswith("text/html")
    assert "<svg" in picture.text and "Motorwerke AG" in picture.text and "AX-2026-000123" in picture.text


def test_the_cli_prints_the_tree_and_writes_the_picture(supply_chain, tmp_path):
    out = tmp_path / "tree.html"
    result = subprocess.run([sys.executable, "-m", "connector.cli.main", "provenance", "--config",
                             str(supply_chain["motorwerke"].config), VAN_1, "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WMW00000000000001" in result.stdout and "AX-2026-000123" in result.stdout
    assert "<svg" in out.read_text()
    unknown = subprocess.run([sys.executable, "-m", "connector.cli.main", "provenance", "--config",
                              str(supply_chain["motorwerke"].config), "WMW99999999999999"],
                             capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 1 and "WMW99999999999999" in unknown.stdout


def test_a_supplier_refusing_the_contract_is_a_tombstone_with_its_reason_and_the_offer(supply_chain):
    """Last in this module: it ends Nordguss's part-data usage policy (its usage end date has passed)."""
    nordguss, motorwerke = supply_chain["nordguss"], supply_chain["motorwerke"]
    narrowed = {"@context": ["https://w3id.org/catenax/2025/9/policy/context.jsonld",
                             "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
                             {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}],
                "@type": "PolicyDefinition", "@id": "part-data-usage",
                "policy": {"@type": "Set", "permission": [{"action": "use", "constraint": [{"and": [
                    {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
                    {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
                    {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.core.industrycore:1"]},
                    {"leftOperand": "DataUsageEndDate", "operator": "eq", "rightOperand": "2026-01-01T00:00:00Z"},
                ]}]}]}}
    changed = nordguss.call("PUT", "/v3/policydefinitions/part-data-usage", json=narrowed)
    assert changed.status_code in (200, 204), changed.text
    # upward from Nordguss's batch: its usage aspect is an asset Motorwerke has no agreement for yet
    answer = run(motorwerke, {"globalAssetId": CASTINGS, "bpn": NGUSS}, direction="upward")
    assert answer["job"]["state"] == "COMPLETED" and answer["relationships"] == []
    [stone] = answer["tombstones"]
    assert normal_id(stone["catenaXId"]) == normal_id(CASTINGS)
    assert stone["processingError"]["processStep"] == "UsagePolicyValidation"
    detail = stone["processingError"]["errorDetail"]
    assert detail.startswith("BPNL0000000NGUSS refused the contract for submodels-SingleLevelUsageAsBuilt")
    assert "DataUsageEndDate" in detail
    assert stone["policy"]["permission"][0]["action"] in ("use", "odrl:use")
