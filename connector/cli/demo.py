"""``connector demo``: three companies' connectors as separate processes, and the story they tell.

It shows only what the connector can really do today. Each connector runs in DCP mode (the DCP v1.0
presentation flow) with its own keys and did:web DID; a data-space issuer runs as its own process
(``connector issuer serve``) and each company gets its credentials from it through DCP issuance.
The steps (``demo_steps.py``, the footprint ones in ``demo_pcf.py``): publishing offers and
footprints; a signed agreement, a signed PCF and a 50 MB file pulled through the data plane, the
agreement checked offline; Achsen's module PCF rolled up from Nordguss's (58.6 kg, computed) and
published; a CX-0136 request refused for a missing credential and answered once it is issued; an
offer hidden by the access policy, explained to the provider's admin and opened up; the vehicle's
PCF rolled up from Achsen's. Any failed step makes the demo exit non-zero.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
from rich.panel import Panel

from connector.cli.configs import render_config
from connector.cli.demo_gaiax import GaiaxStep
from connector.cli.demo_issuance import DemoIssuer
from connector.cli.demo_world import COMPANIES, EDC, MGMT_CONTEXT, PACT_CLIENTS, PROTOCOL, Company, pact_section
from connector.cli.identity import identity_section
from connector.cli.launch import ConnectorProcess, free_port, start_connector, wait_ready
from connector.cli.output import Console
from connector.config import DSP_PATH, MANAGEMENT_PATH
from connector.identity.wallet import new_key_file

console = Console(soft_wrap=True, highlight=False)


class StepFailed(Exception):
    pass


class Node:
    """One company's running connector, reached through its management API like staff would."""

    def __init__(self, company: Company, port: int, workdir: Path) -> None:
        self.company = company
        self.port = port
        self.api_key = secrets.token_urlsafe(16)
        self.base = f"http://127.0.0.1:{port}"
        self.did = f"did:web:localhost%3A{port}"
        self.config = workdir / f"{company.key}.toml"
        self.database = workdir / f"{company.key}.db"
        self.log = workdir / "logs" / f"{company.key}.log"
        self.keys = workdir / "identity" / f"{company.key}.keys.json"
        self.wallet = workdir / "identity" / f"{company.key}.credentials.json"
        self.files = workdir / "files" / company.key
        self.http = httpx.Client(base_url=self.base + MANAGEMENT_PATH, headers={"X-Api-Key": self.api_key}, timeout=60)
        self.process: ConnectorProcess | None = None

    @property
    def name(self) -> str:
        return self.company.name

    @property
    def dsp(self) -> str:
        return self.base + DSP_PATH

    def call(self, method: str, path: str, body: dict[str, Any] | list[Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        if not response.is_success:
            raise StepFailed(f"{self.name}: {method} {path} answered {response.status_code}: {response.text[:800]}")
        return response.json() if response.content else None

    # --- consumer side -----------------------------------------------------------------------------

    def catalog(self, provider: Node) -> list[dict]:
        catalog = self.call("POST", "/v3/catalog/request", {
            "@context": {"@vocab": EDC}, "@type": "CatalogRequest", "counterPartyAddress": provider.dsp,
            "counterPartyId": provider.did, "protocol": PROTOCOL})
        datasets = catalog.get("dataset") or catalog.get("dcat:dataset") or []
        return datasets if isinstance(datasets, list) else [datasets]

    @staticmethod
    def offer(datasets: list[dict], asset_id: str) -> dict:
        for dataset in datasets:
            if dataset.get("@id") == asset_id:
                offers = dataset.get("hasPolicy") or dataset.get("odrl:hasPolicy")
                offer = offers[0] if isinstance(offers, list) and offers else offers
                if isinstance(offer, dict):
                    return offer
        raise StepFailed(f"the catalog holds no dataset {asset_id}")

    def negotiate_pull(self, provider: Node, asset_id: str, offer: dict) -> dict:
        """POST /v3/edrs: negotiate, then start an HttpData-PULL transfer; returns the ended negotiation."""
        created = self.call("POST", "/v3/edrs", {
            "@context": MGMT_CONTEXT, "@type": "ContractRequest", "counterPartyAddress": provider.dsp,
            "counterPartyId": provider.did, "protocol": PROTOCOL, "transferType": "HttpData-PULL",
            "policy": {**offer, "@type": "Offer", "assigner": provider.did, "target": asset_id}})
        return self._poll(lambda: self.call("GET", f"/v3/contractnegotiations/{created['@id']}"),
                          lambda n: n.get("state") in ("FINALIZED", "TERMINATED"), "negotiation")

    def edr(self, agreement_id: str) -> tuple[str, str, str]:
        """(transfer id, endpoint, authorization) of the pull transfer started for the agreement."""
        query = {"@context": {"@vocab": EDC}, "@type": "QuerySpec", "filterExpression": [
            {"operandLeft": "contractAgreementId", "operator": "=", "operandRight": agreement_id}]}

        def read() -> dict | None:
            found = self.call("POST", "/v3/transferprocesses/request", query)
            return found[-1] if found else None

        tp = self._poll(read, lambda t: t.get("state") in ("STARTED", "COMPLETED", "TERMINATED"), "transfer")
        if tp["state"] != "STARTED":
            raise StepFailed(f"transfer {tp['@id']} is {tp['state']}: {tp.get('errorDetail')}")
        address = self.call("GET", f"/v3/edrs/{tp['@id']}/dataaddress?auto_refresh=true")
        if not address.get("endpoint") or not address.get("authorization"):
            raise StepFailed(f"the EDR of transfer {tp['@id']} has no endpoint or token: {address}")
        return tp["@id"], address["endpoint"], address["authorization"]

    def complete(self, transfer_id: str) -> None:
        self.call("POST", f"/v3/transferprocesses/{transfer_id}/complete")

    @staticmethod
    def _poll(read, done, what: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = read()
            if last is not None and done(last):
                return last
            time.sleep(0.1)
        raise StepFailed(f"{what} still {last and last.get('state')} after {timeout:g} s")


def pull(endpoint: str, authorization: str, target: Path | None = None) -> tuple[bytes | int, float]:
    """GET the provider's data plane with the EDR's token: the body (or bytes streamed to target), seconds."""
    started = time.monotonic()
    with httpx.Client(timeout=120) as client, \
            client.stream("GET", endpoint, headers={"Authorization": authorization}) as response:
        if not response.is_success:
            response.read()
            raise StepFailed(f"data plane {endpoint} answered {response.status_code}: {response.text[:500]}")
        if target is None:
            return response.read(), time.monotonic() - started
        size = 0
        with target.open("wb") as out:
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)
                size += len(chunk)
    return size, time.monotonic() - started


# --- setting up the data space -----------------------------------------------------------------------

def _setup(workdir: Path, nodes: dict[str, Node]) -> DemoIssuer:
    """Keys, the data-space issuer (its own process, started later), and the configs. The
    companies' credentials come later, over DCP, from the running issuer (``DemoIssuer.provision``)."""
    (workdir / "identity").mkdir()
    issuer = DemoIssuer(workdir, free_port())
    for node in nodes.values():
        new_key_file(node.keys, node.did)
        node.files.mkdir(parents=True)
    for node in nodes.values():
        peers = [{"id": o.did, "dsp_url": o.dsp, "bpn": o.company.bpn} for o in nodes.values() if o is not node]
        identity = identity_section("dcp", node.keys, node.wallet, [issuer.did], insecure_localhost=True,
                                    status_list_cache_seconds=0, bpn_directory_url=issuer.directory_url)
        extra = "\n".join(["retry_base_seconds = 0.2", identity, "[dataplane]", f'files_dir = "{node.files}"',
                           "sign_documents = true", *([pact_section(PACT_CLIENTS)] if node.company.key == "nordguss"
                                                      else [])])
        node.config.write_text(render_config(
            participant_id=node.did, bpn=node.company.bpn, name=node.name, port=node.port,
            database_url=f"sqlite:///{node.database}", api_key=node.api_key,
            token=secrets.token_urlsafe(16), peers=peers, extra=extra))
    return issuer


def run_demo(workdir: Path, *, keep_running: bool = False) -> int:
    from connector.cli.demo_steps import Story

    workdir = workdir.resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "logs").mkdir(parents=True)
    nodes = {c.key: Node(c, free_port(), workdir) for c in COMPANIES}
    console.print(Panel.fit("Pontis demo: a three-company data space, DIDs and credentials, on SQLite", style="bold"))
    started = time.monotonic()
    issuer: DemoIssuer | None = None
    gaiax: GaiaxStep | None = None
    try:
        issuer = _setup(workdir, nodes)
        gaiax = GaiaxStep.prepare(nodes["nordguss"].config, workdir / "gaiax", nodes["nordguss"].name)  # demo_gaiax
        issuer.start()
        for node in nodes.values():
            node.process = start_connector(node.company.key, node.config, node.log, node.base)
        issuer.wait_ready()
        for node in nodes.values():
            assert node.process is not None  # started just above
            wait_ready(node.process, timeout=60)  # slow on a loaded machine
        asked = time.monotonic()
        issuer.provision(list(nodes.values()))  # each company requests its credentials over DCP
        console.print(f"  the three companies requested their credentials from {issuer.did} over DCP; "
                      f"issued, delivered and stored in {time.monotonic() - asked:.1f} s", markup=False)
        from connector.cli.demo_provenance import ProvenanceSteps

        provenance = ProvenanceSteps(nodes, issuer, workdir, console)  # demo-story steps 5-7
        gaiax.onboard_and_show(console)
        Story(nodes, issuer, workdir, console, pictures=provenance.pictures).run(provenance.steps())
        if keep_running:
            Story.urls(nodes, issuer, console)
            console.print("\nThe data space stays up; press Ctrl-C to stop it.")
            while True:
                time.sleep(3600)
        console.print(f"\n[bold green]Demo finished in {time.monotonic() - started:.1f} s: "
                      "every step succeeded.[/bold green]")
        return 0
    except (StepFailed, RuntimeError) as exc:
        console.print(f"\n[bold red]Demo step failed:[/bold red] {exc}")
        console.print(f"  the connectors' logs are in {workdir / 'logs'}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if issuer is not None:
            issuer.stop()
        if gaiax is not None:
            gaiax.stop()
        for node in nodes.values():
            if node.process is not None:
                node.process.stop()
            node.http.close()
