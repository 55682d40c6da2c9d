"""The demo's story, step by step (see ``demo.py`` for the data space it runs on)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from connector.cli import demo_pcf
from connector.cli.demo import Node, StepFailed, pull
from connector.cli.demo_issuance import DemoIssuer
from connector.cli.demo_world import (
    ACHSEN,
    ACHSEN_ACCESS,
    ACHSEN_USAGE,
    CASTING_FILE,
    CASTING_PCF,
    EXCHANGE_ASSET,
    FILE_MB,
    MOTORWERKE,
    NORDGUSS_ACCESS,
    NORDGUSS_OFFERS,
    NORDGUSS_USAGE,
    PCF_PURPOSE,
    access_policy,
    contract_definition,
    usage_policy,
)
from connector.config import MANAGEMENT_PATH
from connector.identity.wallet import Wallet


class Story:
    def __init__(self, nodes: dict[str, Node], issuer: DemoIssuer, workdir: Path, console: Console, *,
                 pictures: list[Path] | None = None) -> None:
        self.nodes, self.issuer, self.workdir, self.console = nodes, issuer, workdir, console
        self.nordguss, self.achsen, self.motorwerke = nodes["nordguss"], nodes["achsen"], nodes["motorwerke"]
        self.exported: list[Path] = []
        # the provenance trees drawn by the provenance steps (connector.cli.demo_provenance)
        self.pictures = pictures if pictures is not None else []

    def say(self, text: str) -> None:
        self.console.print("  " + text)

    def ok(self, text: str) -> None:
        self.console.print(f"  [green]✔[/green] {text}")

    def run(self, more: list[tuple[str, Callable[[], None]]] | None = None) -> None:
        """The story's steps, with ``more`` (the provenance steps) before "Where things are"."""
        for number, (title, step) in enumerate([
            ("Three companies start their connectors and publish", self.start),
            ("Achsen negotiates and pulls Nordguss's casting PCF and a 50 MB file", self.achsen_buys),
            ("Achsen rolls its axle-module PCF up from Nordguss's and publishes it", self.achsen_rolls_up),
            ("Motorwerke asks Achsen for the module PCF (CX-0136): refused, then credentialed", self.motorwerke_buys),
            ("Motorwerke asks Nordguss directly: the offer is hidden, then opened up", self.hidden_offer),
            ("Motorwerke rolls the vehicle's PCF up from Achsen's and publishes it", self.motorwerke_rolls_up),
            ("PACT tools read Nordguss's footprints over its PACT API", self.pact_tools_read),
            *(more or []),
            ("Where things are", self.where),
        ], start=1):
            self.console.rule(f"[bold]{number}. {title}")
            step()

    # --- 1 -----------------------------------------------------------------------------------------

    def start(self) -> None:
        self.say(f"data-space issuer {self.issuer.did}: its own process; each company requested its credentials "
                 "over DCP (CredentialRequestMessage) and the issuer delivered them to the company's Credential "
                 "Service, which verified and stored them")
        for node in self.nodes.values():
            credentials = ", ".join(t.removesuffix("Credential") for t in Wallet.load(node.wallet).types())
            self.console.print(f"  [bold]{node.name}[/bold], {node.company.role}")
            self.say(f"  DID {node.did}   BPN {node.company.bpn}")
            self.say(f"  credentials: {credentials}")
            self.say(f"  DSP {node.dsp}   management {node.base}{MANAGEMENT_PATH}/v3")
        self._publish(self.nordguss, NORDGUSS_ACCESS, [ACHSEN.bpn], NORDGUSS_USAGE, NORDGUSS_OFFERS)
        demo_pcf.publish_casting(self, NORDGUSS_ACCESS, NORDGUSS_USAGE)
        with (self.nordguss.files / "ng-wc-400-ct-scan.bin").open("wb") as out:
            block = bytes(range(256)) * 4096  # 1 MiB
            for _ in range(FILE_MB):
                out.write(block)
        self.ok(f"Nordguss publishes {CASTING_PCF} (12.5 kg CO2e, validated and signed) and {CASTING_FILE} "
                f"({FILE_MB} MB file) for BPN {ACHSEN.bpn} + Membership; usage: FrameworkAgreement + Membership "
                f"+ UsagePurpose {PCF_PURPOSE}")
        self._publish(self.achsen, ACHSEN_ACCESS, [MOTORWERKE.bpn], ACHSEN_USAGE, [])
        demo_pcf.publish_bearing(self, ACHSEN_ACCESS, ACHSEN_USAGE)
        self.ok(f"Achsen publishes its in-house bearing's PCF (1.8 kg) and its PCF exchange API ({EXCHANGE_ASSET}) "
                f"for BPN {MOTORWERKE.bpn} + Membership; same usage policy")

    @staticmethod
    def _publish(node: Node, access_id: str, bpns: list[str], usage_id: str, assets: list[dict]) -> None:
        node.call("POST", "/v3/policydefinitions", access_policy(access_id, bpns))
        node.call("POST", "/v3/policydefinitions", usage_policy(usage_id, PCF_PURPOSE))
        for asset in assets:
            node.call("POST", "/v3/assets", asset)
            node.call("POST", "/v3/contractdefinitions",
                      contract_definition(f"{asset['@id']}-contract", asset["@id"], access_id, usage_id))

    # --- 2 -----------------------------------------------------------------------------------------

    def achsen_buys(self) -> None:
        achsen, nordguss = self.achsen, self.nordguss
        datasets = achsen.catalog(nordguss)
        self.say(f"Achsen sees {len(datasets)} offers in Nordguss's catalog: {', '.join(d['@id'] for d in datasets)}")
        agreement_id = demo_pcf.achsen_pulls_casting(self)
        bundles = {}
        for node in (nordguss, achsen):
            bundles[node.company.key] = node.call("GET", f"/v3/contractagreements/{agreement_id}/signed")
            signers = [p["verificationMethod"] for p in bundles[node.company.key]["signedAgreement"]["proof"]]
            self.say(f"{node.name} holds agreement {agreement_id} signed by: {', '.join(signers)}")
        if len(bundles["achsen"]["signedAgreement"]["proof"]) != 2:
            raise StepFailed("the agreement should carry two proofs (provider's and consumer's)")
        pcf = json.loads((self.workdir / "downloads" / "achsen" / "NG-WC-400.pcf.signed.json").read_text())
        self._check_signature(pcf, nordguss, "casting PCF", "achsen")

        self._pull_file(achsen, nordguss, datasets)

        bundle = self.workdir / "agreements" / f"achsen-nordguss-{CASTING_PCF}.json"
        bundle.parent.mkdir(exist_ok=True)
        bundle.write_text(json.dumps(bundles["achsen"], indent=2))
        self.exported.append(bundle)
        command = [sys.executable, "-m", "connector.cli.main", "agreement", "verify", str(bundle), "--require-consumer"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        output = (result.stdout + result.stderr).strip().replace("\n", "\n    ")
        self.say(f"offline: connector agreement verify {bundle.name} --require-consumer")
        self.say(f"  {output}")
        if result.returncode != 0:
            raise StepFailed(f"connector agreement verify exited {result.returncode}")
        self.ok("the signed agreement verifies offline (both signatures, no network)")

    # --- 3 -----------------------------------------------------------------------------------------

    def achsen_rolls_up(self) -> None:
        demo_pcf.achsen_rolls_up(self, ACHSEN_ACCESS, ACHSEN_USAGE)

    def motorwerke_buys(self) -> None:
        motorwerke, achsen = self.motorwerke, self.achsen
        agreement_id = demo_pcf.motorwerke_asks_module(self)
        bundle = self.workdir / "agreements" / f"motorwerke-achsen-{EXCHANGE_ASSET}.json"
        bundle.write_text(json.dumps(motorwerke.call("GET", f"/v3/contractagreements/{agreement_id}/signed"), indent=2))
        self.exported.append(bundle)
        module = json.loads((self.workdir / "downloads" / "motorwerke" / "AX-RM-7.pcf.signed.json").read_text())
        self._check_signature(module, achsen, "module PCF", "motorwerke")

    def motorwerke_rolls_up(self) -> None:
        demo_pcf.motorwerke_rolls_up(self)

    def pact_tools_read(self) -> None:
        demo_pcf.pact_tools_read(self)

    # --- 4 -----------------------------------------------------------------------------------------

    def _check_signature(self, document: dict, provider: Node, what: str, keeper: str) -> None:
        """The receiver checks the provider's eddsa-jcs-2022 proof on the data and keeps the document."""
        from connector.identity.did import DidResolver
        from connector.services.documents import verify_received
        from connector.services.ssrf import Allowlist, OutgoingGuard
        from connector.services.transport import DocumentFetch

        # the demo's companies all run on this machine
        fetch = DocumentFetch(OutgoingGuard(Allowlist.parse(["127.0.0.1", "localhost"])))
        resolver = DidResolver(allow_insecure_localhost=True, fetch=fetch)
        result = verify_received(document, resolver.resolve_key, provider.did)
        if result is None or not result.ok:
            raise StepFailed(f"the {what} should carry {provider.name}'s valid signature: "
                             f"{'no proof' if result is None else result.reason}")
        kept = self.workdir / "downloads" / keeper / f"{what.replace(' ', '-')}.signed.json"
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(json.dumps(document, indent=2))
        self.ok(f"the {what} carries {provider.name}'s eddsa-jcs-2022 proof ({document['proof']['verificationMethod']}): "
                f"verified, kept at {kept}")

    def hidden_offer(self) -> None:
        motorwerke, nordguss = self.motorwerke, self.nordguss
        visible = [d["@id"] for d in motorwerke.catalog(nordguss)]
        if CASTING_PCF in visible:
            raise StepFailed("Motorwerke should not see Nordguss's casting offer yet")
        self.say(f"Motorwerke asks Nordguss's catalog: {len(visible)} offers visible, no reason given")
        explained = nordguss.call("POST", "/v3/catalog/explain", {"counterPartyId": motorwerke.did, "assetId": CASTING_PCF})
        text = json.dumps(explained)
        if "BusinessPartnerNumber" not in text:
            raise StepFailed(f"the explanation should name BusinessPartnerNumber: {text[:600]}")
        self.say("Nordguss's admin asks POST /management/v3/catalog/explain:")
        for offer in explained["offers"]:
            self.say(f"  {offer['contractDefinitionId']}: visible={offer['visible']}, agreeable={offer['agreeable']}")
            for line in offer["access"].get("explanation", []):
                self.say(f"    {line}")
        nordguss.call("PUT", f"/v3/policydefinitions/{NORDGUSS_ACCESS}",
                      access_policy(NORDGUSS_ACCESS, [ACHSEN.bpn, MOTORWERKE.bpn]))
        self.ok(f"Nordguss's admin adds {MOTORWERKE.bpn} to {NORDGUSS_ACCESS} (PUT /v3/policydefinitions)")
        visible = [d["@id"] for d in motorwerke.catalog(nordguss)]
        if CASTING_PCF not in visible:
            raise StepFailed(f"Motorwerke should now see {CASTING_PCF}; it sees {visible}")
        self.ok(f"Motorwerke now sees: {', '.join(visible)}")
        # the OEM now pulls the casting's 50 MB scan itself, through Nordguss's data plane
        self._pull_file(motorwerke, nordguss, motorwerke.catalog(nordguss))

    def _pull_file(self, consumer: Node, provider: Node, datasets: list[dict]) -> None:
        """Negotiate the casting's 50 MB scan and stream it to disk through the provider's data plane."""
        done = consumer.negotiate_pull(provider, CASTING_FILE, Node.offer(datasets, CASTING_FILE))
        if done["state"] != "FINALIZED":
            raise StepFailed(f"{consumer.name}'s negotiation for the file ended {done['state']}: "
                             f"{done.get('errorDetail')}")
        transfer, endpoint, token = consumer.edr(done["contractAgreementId"])
        target = self.workdir / "downloads" / consumer.company.key / "ng-wc-400-ct-scan.bin"
        target.parent.mkdir(parents=True, exist_ok=True)
        size, seconds = pull(endpoint, token, target)
        if size != FILE_MB << 20:
            raise StepFailed(f"the file should be {FILE_MB << 20} bytes, got {size!r}")
        consumer.complete(transfer)
        self.ok(f"{consumer.name} streams {CASTING_FILE} from {provider.name}'s data plane to {target}: "
                f"{size / (1 << 20):.0f} MB in {seconds:.2f} s ({size / (1 << 20) / max(seconds, 1e-6):.0f} MB/s)")

    # --- 5 -----------------------------------------------------------------------------------------

    def where(self) -> None:
        self.say(f"everything is under {self.workdir}")
        for node in self.nodes.values():
            self.say(f"{node.name:15} config {node.config}")
            self.say(f"{'':15} database {node.database}   log {node.log}")
            self.say(f"{'':15} keys {node.keys}   wallet {node.wallet}")
        self.say(f"issuer: {self.issuer.directory}   log {self.issuer.log}")
        for bundle in self.exported:
            self.say(f"signed agreement: {bundle}   (check: connector agreement verify {bundle})")
        for picture in self.pictures:
            self.say(f"provenance tree (HTML): {picture}")

    @staticmethod
    def urls(nodes: dict[str, Node], issuer: DemoIssuer, console: Console) -> None:
        console.rule("[bold]The running data space")
        for node in nodes.values():
            console.print(f"  [bold]{node.name}[/bold]  X-Api-Key: {node.api_key}")
            console.print(f"    management {node.base}{MANAGEMENT_PATH}/v3   DSP {node.dsp}")
            console.print(f"    DID document {node.base}/.well-known/did.json")
        console.print(f"  issuer {issuer.did}: DCP issuance {issuer.service_url}/metadata, "
                      f"status list {issuer.status_list_url}, BPN-DID directory {issuer.directory_url}/bpn-directory")
