"""The demo's provenance steps (demo-story.md steps 5 to 7), run after the footprint steps.

5. The companies load their parts (twins, BOMs, usages; Nordguss shows its registry only to
   Achsen). Motorwerke asks for vehicle WMW00000000000001's provenance, downward: the walk crosses
   Achsen (module, bearings) and finds no offer at Nordguss: a tombstone says so; Nordguss's admin
   sees why on its side (the BusinessPartnerNumber constraint).
6. Nordguss's admin adds Motorwerke's BPN; the walk, run again, reaches the casting batch, its
   data signed by Nordguss and verified.
7. The quality question, upward: which vehicles hold casting batch NG-B-2026-11-07? From Nordguss's
   batch through Achsen's modules to both VINs.

Each traversal is an IRS job on Motorwerke's management API; its tree is printed and its picture
(as ``/management/irs/jobs/{id}/tree.html`` draws it, with the companies' names) saved under
``<workdir>/provenance/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from connector.cli.demo import Node, StepFailed
from connector.cli.demo_issuance import DemoIssuer
from connector.cli.demo_world import ACHSEN, MOTORWERKE, NORDGUSS, PARTS_PURPOSE, access_policy, usage_policy
from connector.identity.wallet import Wallet
from connector.provenance.render import tree_html, tree_lines
from connector.provenance.samples import bom, identity, usage

# the parts (the same ids as examples/supply-chain)
VEHICLES = [("urn:uuid:d11ac71b-7efe-43f2-83d0-77a8b56ea1e7", "WMW00000000000001"),
            ("urn:uuid:ac9e1186-c5aa-441b-8b91-53807bd04380", "WMW00000000000002")]
MODULES = [("urn:uuid:0cca71fb-80ff-4d36-8db1-4751129478be", "AX-2026-000123"),
           ("urn:uuid:7802f168-cfff-4ff7-9d56-c6976d7575f2", "AX-2026-000124")]
BEARINGS, CASTINGS = "urn:uuid:6fcbe3b7-3ac0-44d8-8823-cb2b5193347e", "urn:uuid:2c8de93a-06b0-46d8-8e4f-13f94294402c"
CASTING_BATCH = "NG-B-2026-11-07"
REGISTRY = "digital-twin-registry"
NORDGUSS_PARTS_ACCESS, NORDGUSS_PARTS_USAGE = "nordguss-parts-access", "nordguss-parts-usage"
ACHSEN_PARTS_ACCESS, ACHSEN_PARTS_USAGE = "achsen-parts-access", "achsen-parts-usage"
NAMES = {c.bpn: c.name for c in (NORDGUSS, ACHSEN, MOTORWERKE)}


def motorwerke_parts() -> list[dict]:
    items = []
    for (vehicle, van), (module, _) in zip(VEHICLES, MODULES):
        items += [identity(vehicle, "van", van, "MW-V8-SEDAN", "Sedan V8", [], date="2026-11-20"),
                  bom(vehicle, [(module, ACHSEN.bpn, 1)], [], created="2026-11-20T14:00:00Z")]
    return items


def achsen_parts() -> list[dict]:
    seen = [MOTORWERKE.bpn]
    items = [identity(BEARINGS, "batchId", "AX-BRG-2026-44", "AX-BRG-62", "Wheel bearing 62", seen),
             usage(BEARINGS, [(module, ACHSEN.bpn, 2) for module, _ in MODULES], seen)]
    for (module, serial), (vehicle, _) in zip(MODULES, VEHICLES):
        items += [identity(module, "partInstanceId", serial, "AX-RM-7", "Rear-axle module RM-7", seen, date="2026-11-12"),
                  bom(module, [(CASTINGS, NORDGUSS.bpn, 2), (BEARINGS, ACHSEN.bpn, 2)], seen),
                  usage(module, [(vehicle, MOTORWERKE.bpn, 1)], seen, created="2026-11-20T14:00:00Z")]
    return items


def nordguss_parts() -> list[dict]:
    # the twin names both customers; the access policy on the offers decides who reaches the registry
    seen = [ACHSEN.bpn, MOTORWERKE.bpn]
    return [identity(CASTINGS, "batchId", CASTING_BATCH, "NG-WC-400", "Wheel carrier casting WC-400", seen),
            usage(CASTINGS, [(module, ACHSEN.bpn, 2) for module, _ in MODULES], seen)]


class ProvenanceSteps:
    def __init__(self, nodes: dict[str, Node], issuer: DemoIssuer, workdir: Path, console: Console) -> None:
        self.nodes, self.issuer, self.workdir, self.console = nodes, issuer, workdir, console
        self.nordguss, self.achsen, self.motorwerke = nodes["nordguss"], nodes["achsen"], nodes["motorwerke"]
        self.pictures: list[Path] = []

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        """Demo-story steps 5-7 as (title, step), for the story to number among its own."""
        return [
            ("Motorwerke asks where vehicle WMW00000000000001 came from: one branch denied", self.downward),
            ("Nordguss opens its registry to Motorwerke; the casting batch appears", self.opened_up),
            (f"Quality question: which vehicles hold casting batch {CASTING_BATCH}?", self.upward),
        ]

    def say(self, text: str) -> None:
        self.console.print("  " + text, markup=False)

    def ok(self, text: str) -> None:
        self.console.print(f"  [green]✔[/green] {text}")

    # --- 5 -----------------------------------------------------------------------------------------

    def _load_parts(self) -> None:
        wallet = Wallet.load(self.motorwerke.wallet)
        if "DataExchangeGovernanceCredential" not in wallet.types():  # the footprint steps normally issue it
            self.issuer.grant(self.motorwerke, "DataExchangeGovernance")
        for node, access, usage_id, customers, items in (
                (self.nordguss, NORDGUSS_PARTS_ACCESS, NORDGUSS_PARTS_USAGE, [ACHSEN.bpn], nordguss_parts()),
                (self.achsen, ACHSEN_PARTS_ACCESS, ACHSEN_PARTS_USAGE, [MOTORWERKE.bpn], achsen_parts()),
                (self.motorwerke, None, None, [], motorwerke_parts())):
            query = ""
            if access and usage_id:
                node.call("POST", "/v3/policydefinitions", access_policy(access, customers))
                node.call("POST", "/v3/policydefinitions", usage_policy(usage_id, PARTS_PURPOSE))
                query = f"?accessPolicy={access}&policy={usage_id}"
            done = node.call("POST", f"/v3/parts/import{query}", items)
            shown = f"; registry and submodels offered to {', '.join(customers)} only" if customers else ""
            self.ok(f"{node.name} imports {len(items)} aspects of {len(done.get('created', []))} twins{shown}")

    def _job(self, part: str, bpn: str, direction: str, picture: str) -> dict:
        started = time.monotonic()
        created = self.motorwerke.call("POST", "/irs/jobs", {
            "key": {"globalAssetId": part, "bpn": bpn}, "direction": direction, "bomLifecycle": "asBuilt",
            "collectAspects": True, "aspects": ["SerialPart", "Batch"]})
        while True:
            response = self.motorwerke.http.get(f"/irs/jobs/{created['id']}")
            if response.status_code == 200:
                answer = response.json()
                break
            if response.status_code != 206 or time.monotonic() - started > 30:
                raise StepFailed(f"job {created['id']}: HTTP {response.status_code}: {response.text[:300]}")
            time.sleep(0.1)
        if answer["job"]["state"] != "COMPLETED":
            raise StepFailed(f"job {created['id']} ended {answer['job']['state']}: {answer['job'].get('exception')}")
        self.say(f"POST /management/irs/jobs ({direction}) → job {created['id']}, COMPLETED in "
                 f"{time.monotonic() - started:.2f} s: {len(answer['relationships'])} relationships, "
                 f"{len(answer['tombstones'])} tombstones")
        for line in tree_lines(answer, NAMES):
            self.say("  " + line)
        target = self.workdir / "provenance" / picture
        target.parent.mkdir(exist_ok=True)
        # the connector serves this picture (GET .../tree.html); drawn here with every company's name
        target.write_text(tree_html(answer, NAMES))
        self.pictures.append(target)
        return answer

    def downward(self) -> None:
        self._load_parts()
        answer = self._job(VEHICLES[0][0], MOTORWERKE.bpn, "downward", "vehicle-downward-denied.html")
        stones = answer["tombstones"]
        expected = f"no offer of the Digital Twin Registry visible to {MOTORWERKE.bpn} at {NORDGUSS.bpn}"
        if len(stones) != 1 or stones[0]["catenaXId"] != CASTINGS or \
                expected not in stones[0]["processingError"]["errorDetail"]:
            raise StepFailed(f"expected one tombstone at the casting batch saying {expected!r}; got {stones}")
        self.console.print(f"  [yellow]✘ denied branch[/yellow]: {stones[0]['processingError']['errorDetail']}",
                           markup=True, highlight=False)
        explained = self.nordguss.call("POST", "/v3/catalog/explain",
                                       {"counterPartyId": self.motorwerke.did, "assetId": REGISTRY})
        lines = [line for offer in explained["offers"] for line in offer["access"].get("explanation", [])]
        if not any("BusinessPartnerNumber" in line for line in lines):
            raise StepFailed(f"Nordguss's explanation should name BusinessPartnerNumber: {lines}")
        self.say(f"Nordguss's admin asks why Motorwerke does not see {REGISTRY} (POST /v3/catalog/explain):")
        for line in lines:
            self.say(f"  {line}")

    # --- 6 -----------------------------------------------------------------------------------------

    def opened_up(self) -> None:
        self.nordguss.call("PUT", f"/v3/policydefinitions/{NORDGUSS_PARTS_ACCESS}",
                           access_policy(NORDGUSS_PARTS_ACCESS, [ACHSEN.bpn, MOTORWERKE.bpn]))
        self.ok(f"Nordguss's admin adds {MOTORWERKE.bpn} to {NORDGUSS_PARTS_ACCESS}")
        answer = self._job(VEHICLES[0][0], MOTORWERKE.bpn, "downward", "vehicle-downward.html")
        if answer["tombstones"]:
            raise StepFailed(f"the walk should now reach every part; tombstones: {answer['tombstones']}")
        casting = next((n for n in answer["nodes"] if n["catenaXId"] == CASTINGS), None)
        if casting is None or casting["signature"] != "verified":
            raise StepFailed(f"the casting batch should be there, signed by Nordguss and verified: {casting}")
        self.ok(f"casting batch {CASTING_BATCH} reached; its data is signed by {casting.get('signedBy')} (verified)")

    # --- 7 -----------------------------------------------------------------------------------------

    def upward(self) -> None:
        answer = self._job(CASTINGS, NORDGUSS.bpn, "upward", "casting-batch-upward.html")
        vins = sorted(n.get("label", "").split(" ")[0] for n in answer["nodes"] if n["bpn"] == MOTORWERKE.bpn)
        if vins != [van for _, van in VEHICLES]:
            raise StepFailed(f"the batch should lead to both vehicles {[v for _, v in VEHICLES]}; found {vins}")
        self.ok(f"batch {CASTING_BATCH} is in {len(vins)} vehicles: {', '.join(vins)} (via Achsen's modules "
                f"{', '.join(s for _, s in MODULES)})")
