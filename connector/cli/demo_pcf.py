"""The demo's footprint steps, each run with the ``connector pcf`` commands a company's staff would type.

Nordguss imports its casting PCF (a CSV row); Achsen imports its in-house bearing (PACT v3 JSON from
its own tool), pulls Nordguss's casting PCF, rolls its axle module up from both (58.6 kg, computed)
and publishes it; Motorwerke asks Achsen the CX-0136 way (refused, then credentialed), and rolls the
vehicle up from Achsen's module. The PCF offers use each company's own policies (``demo_world``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from connector.cli.demo import Node, StepFailed
from connector.cli.demo_world import (
    BEARING,
    CASTING_CSV,
    EXCHANGE_ASSET,
    MODULE_BOM,
    PACT_CLIENTS,
    VEHICLE_BOM,
    contract_definition,
)

if TYPE_CHECKING:
    from connector.cli.demo_steps import Story


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def pcf(story: Story, node: Node, *args: str, expect: tuple[int, ...] = (0,)) -> Ran:
    """``connector pcf ARGS --config <node's config>``, shown as typed; StepFailed on another exit code.

    Run in this process (the same command code; a new interpreter per command costs a second or more)."""
    from typer.testing import CliRunner

    from connector.cli.main import app

    shown = " ".join(a.replace(str(story.workdir) + "/", "") for a in args)
    story.say(f"[dim]$ connector pcf {shown} --config {node.config.name}[/dim]")
    result = CliRunner().invoke(app, ["pcf", *args, "--config", str(node.config)])
    done = Ran(result.exit_code, result.stdout, result.stderr)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise StepFailed(f"connector pcf {args[0]} ({node.name}) failed: {result.exception!r}")
    if done.returncode not in expect:
        raise StepFailed(f"connector pcf {args[0]} ({node.name}) exited {done.returncode}: "
                         f"{(done.stderr or done.stdout).strip()[-800:]}")
    return done


def _exchange_under(node: Node, access_id: str, usage_id: str) -> None:
    """The company's CX-0136 exchange API is offered under its own PCF policies too."""
    node.call("PUT", "/v3/contractdefinitions", contract_definition(
        f"{EXCHANGE_ASSET}-offer", EXCHANGE_ASSET, access_id, usage_id))


def publish_casting(story: Story, access_id: str, usage_id: str) -> None:
    folder = story.workdir / "footprints"
    folder.mkdir(exist_ok=True)
    (folder / "nordguss-casting.csv").write_text(CASTING_CSV)
    done = pcf(story, story.nordguss, "import", str(folder / "nordguss-casting.csv"),
               "--policy", usage_id, "--access-policy", access_id)
    story.say(f"  {done.stdout.strip()}")
    _exchange_under(story.nordguss, access_id, usage_id)


def publish_bearing(story: Story, access_id: str, usage_id: str) -> None:
    from connector.pcf.document import new_footprint
    from connector.pcf.models import PcfFormat, from_internal

    node = story.achsen
    document = new_footprint(company_name=node.name, company_bpn=node.company.bpn, now=datetime.now(UTC),
                             **BEARING)  # type: ignore[arg-type]  # BEARING holds exactly new_footprint's keyword arguments
    path = story.workdir / "footprints" / "achsen-bearing.pact3.json"
    path.write_text(json.dumps([from_internal(document, PcfFormat.PACT3)], indent=2))
    done = pcf(story, node, "import", str(path), "--policy", usage_id, "--access-policy", access_id)
    story.say(f"  {done.stdout.strip()}  (read from PACT v3)")
    _exchange_under(node, access_id, usage_id)


def request(story: Story, consumer: Node, supplier: Node, product: str, *extra: str,
            expect: tuple[int, ...] = (0,)) -> dict:
    keep = story.workdir / "downloads" / consumer.company.key / f"{product}.pcf.signed.json"
    keep.parent.mkdir(parents=True, exist_ok=True)
    done = pcf(story, consumer, "request", "--supplier", supplier.company.bpn, "--product", product, "--json",
               "--out", str(keep), *extra, expect=expect)
    outcome = json.loads(done.stdout)
    outcome["kept"] = keep
    return outcome


def achsen_pulls_casting(story: Story) -> str:
    """Achsen gets Nordguss's casting PCF (synchronous pull); returns the agreement id."""
    outcome = request(story, story.achsen, story.nordguss, "NG-WC-400")
    kg = outcome["footprint"]["pcf"]["pcfExcludingBiogenicUptake"]
    if outcome["status"] != "ok" or kg != 12.5:
        raise StepFailed(f"Achsen should get 12.5 kg for NG-WC-400: {outcome['status']} {outcome['reason']} {kg}")
    story.ok(f"{outcome['footprint']['productNameCompany']}: {kg} kg CO2e per piece, pulled through Nordguss's "
             f"data plane under agreement {outcome['agreementId']}")
    story.ok(f"Nordguss's signature ({outcome['signer']}) verified by Achsen's connector; the signed PCF is kept "
             f"(GET /management/v3/pcf/received, and {outcome['kept']})")
    return outcome["agreementId"]


def roll_up(story: Story, node: Node, bom: dict, access_id: str | None, usage_id: str | None) -> dict:
    path = story.workdir / "footprints" / f"{node.company.key}-bom.json"
    path.write_text(json.dumps(bom, indent=2))
    policies = [*(("--policy", usage_id) if usage_id else ()), *(("--access-policy", access_id) if access_id else ())]
    done = pcf(story, node, "rollup", "--bom", str(path), "--publish", "--json", *policies)
    result = json.loads(done.stdout)
    story.say(f"  own emissions {bom['ownEmissions']['pcfExcludingBiogenicUptake']} kg")
    for line in result["components"]:
        story.say(f"  + {line['quantity']} {line['unit']} x {line['pcfExcludingBiogenicUptake']} kg "
                  f"{line['productId']} ({line['supplierBpn']}) = {line['contribution']} kg ({line['status']})")
    story.ok(f"{bom['productName']}: {result['pcfExcludingBiogenicUptake']} kg CO2e per {result['declaredUnit']}, "
             f"signed and published as footprint {result['published']['id']} ({result['published']['assetId']}), "
             "its precedingPfIds naming the suppliers' footprints")
    return result


def achsen_rolls_up(story: Story, access_id: str, usage_id: str) -> None:
    result = roll_up(story, story.achsen, MODULE_BOM, access_id, usage_id)
    if result["pcfExcludingBiogenicUptake"] != 58.6:
        raise StepFailed(f"the axle module should roll up to 58.6 kg, not {result['pcfExcludingBiogenicUptake']}")


def motorwerke_asks_module(story: Story) -> str:
    """The CX-0136 request, refused for the missing credential, then answered; returns the agreement id."""

    motorwerke, achsen = story.motorwerke, story.achsen
    story.say("Motorwerke's wallet lacks DataExchangeGovernance; it asks Achsen's PCF exchange API (CX-0136: "
              "GET /footprintExchange/{requestId}, answered by Achsen's PUT)")
    refused = request(story, motorwerke, achsen, "AX-RM-7", "--mode", "async", expect=(1,))
    reason = refused.get("reason") or ""
    if refused["status"] != "denied" or not any(w in reason for w in ("FrameworkAgreement", "DataExchangeGovernance")):
        raise StepFailed(f"the request should be denied naming FrameworkAgreement; got {refused['status']}: {reason}")
    story.console.print(f"  [yellow]✘ denied[/yellow]: {reason}")
    # Achsen answers through Motorwerke's own exchange API, under the default policies (member-access,
    # which a catalog request proves; pcf-exchange-usage, proven at negotiation)

    credential_id = story.issuer.grant(motorwerke, "DataExchangeGovernance")
    story.ok(f"the issuer admits Motorwerke for DataExchangeGovernance; Motorwerke requests it over DCP and the "
             f"issuer delivers it ({credential_id}) to Motorwerke's Credential Service, which verifies and stores it")

    outcome = request(story, motorwerke, achsen, "AX-RM-7", "--mode", "async")
    kg = outcome["footprint"]["pcf"]["pcfExcludingBiogenicUptake"]
    if kg != 58.6:
        raise StepFailed(f"the module PCF should say 58.6 kg, not {kg}")
    story.ok(f"asked again: request {outcome['requestId']} accepted (202), Achsen's connector answered with "
             f"PUT /footprintExchange/{{requestId}}: {kg} kg CO2e per piece for AX-RM-7")
    story.ok(f"signed by Achsen ({outcome['signer']}), verified and kept by Motorwerke ({outcome['kept']})")
    return outcome["agreementId"]


def motorwerke_rolls_up(story: Story, access_id: str | None = None, usage_id: str | None = None) -> dict[str, Any]:
    return roll_up(story, story.motorwerke, VEHICLE_BOM, access_id, usage_id)


def pact_tools_read(story: Story) -> None:
    """PACT tools read Nordguss's footprints over its PACT v3 API; each sees what its BPN's policies allow."""
    from connector.pact.client import read_footprints

    seen = {}
    for client_id, secret, bpn in PACT_CLIENTS:
        footprints = read_footprints(story.nordguss.base, client_id, secret)
        seen[bpn] = footprints
        shown = ", ".join(f"{', '.join(f['productIds'])}: {f['pcf']['pcfExcludingBiogenicUptake']} kg "
                          f"({f['status']})" for f in footprints) or "nothing"
        story.say(f"PACT tool {client_id} (for {bpn}): GET /3/footprints sees {shown}")
    casting = [f for f in seen[PACT_CLIENTS[0][2]] if "urn:mpn:NG-WC-400" in f["productIds"]]
    if not casting or casting[0]["pcf"]["pcfExcludingBiogenicUptake"] != "12.5":
        raise StepFailed(f"Achsen's PACT tool should read the casting's 12.5 kg (a PACT decimal string): {casting}")
    if seen[PACT_CLIENTS[1][2]]:
        raise StepFailed(f"a tool for a BPN no policy names should see nothing: {seen[PACT_CLIENTS[1][2]]}")
    story.ok("Achsen's PACT tool reads the casting PCF (PACT v3: decimals as strings); the stranger's tool "
             "sees nothing, its BPN being in no access policy (Nordguss's log says why)")
