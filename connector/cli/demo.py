"""``connector demo``: three companies' connectors as separate processes, and the story they tell.

It shows only what the connector can really do today: publishing offers, asking a peer's
catalog, negotiating a contract over DSP to an agreement both sides store, and a refused
negotiation whose reason reaches the requester. Each step prints what happened; any failed step
makes the demo exit non-zero.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.panel import Panel

from connector.cli.configs import render_config
from connector.cli.demo_world import (
    ACHSEN,
    COMPANIES,
    MGMT_CONTEXT,
    MOTORWERKE,
    NORDGUSS,
    PCF_PURPOSE,
    Company,
    access_policy,
    contract_definition,
    pcf_asset,
    usage_policy,
)
from connector.cli.processes import ConnectorProcess, free_port, start_connector, wait_ready
from connector.config import DSP_PATH, MANAGEMENT_PATH

console = Console(soft_wrap=True)


class StepFailed(Exception):
    pass


class Node:
    """One company's running connector, reached through its management API like staff would."""

    def __init__(self, company: Company, port: int, api_key: str, token: str) -> None:
        self.company = company
        self.port = port
        self.api_key = api_key
        self.token = token
        self.base = f"http://127.0.0.1:{port}"
        self.participant_id = f"did:web:localhost%3A{port}"
        self.http = httpx.Client(base_url=self.base + MANAGEMENT_PATH, headers={"X-Api-Key": api_key}, timeout=30)
        self.process: ConnectorProcess | None = None

    @property
    def dsp(self) -> str:
        return self.base + DSP_PATH

    def call(self, method: str, path: str, body: dict | None = None, expect: int | tuple = (200, 204)) -> dict | list | None:
        response = self.http.request(method, path, json=body)
        expected = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in expected:
            raise StepFailed(f"{self.company.name}: {method} {path} answered {response.status_code}: {response.text[:800]}")
        return response.json() if response.content else None


def _write_configs(workdir: Path, nodes: list[Node]) -> None:
    for node in nodes:
        peers = [
            {"id": other.participant_id, "token": other.token, "dsp_url": other.dsp, "bpn": other.company.bpn}
            for other in nodes if other is not node
        ]
        (workdir / f"{node.company.key}.toml").write_text(render_config(
            participant_id=node.participant_id, bpn=node.company.bpn, name=node.company.name, port=node.port,
            database_url=f"sqlite:///{workdir / (node.company.key + '.db')}",
            api_key=node.api_key, token=node.token, peers=peers,
        ))


def _wait_state(node: Node, negotiation_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = node.call("GET", f"/v3/contractnegotiations/{negotiation_id}/state")["state"]
        if state in ("FINALIZED", "TERMINATED"):
            return node.call("GET", f"/v3/contractnegotiations/{negotiation_id}")
        time.sleep(0.1)
    raise StepFailed(f"negotiation {negotiation_id} did not end within {timeout} s")


def _publish(node: Node, asset_id: str, part_id: str, title: str, customer: Company) -> None:
    node.call("POST", "/v3/policydefinitions", access_policy(f"{asset_id}-access", customer.bpn))
    node.call("POST", "/v3/policydefinitions", usage_policy(f"{asset_id}-usage", PCF_PURPOSE))
    node.call("POST", "/v3/assets", pcf_asset(asset_id, part_id, title))
    node.call("POST", "/v3/contractdefinitions",
              contract_definition(f"{asset_id}-contract", asset_id, f"{asset_id}-access", f"{asset_id}-usage"))


def _catalog(consumer: Node, provider: Node) -> dict:
    return consumer.call("POST", "/v3/catalog/request", {
        "@context": MGMT_CONTEXT[-1:], "@type": "CatalogRequest",
        "counterPartyAddress": provider.dsp, "counterPartyId": provider.participant_id,
        "protocol": "dataspace-protocol-http:2025-1",
    })


def _first_offer(catalog: dict, asset_id: str) -> dict:
    datasets = catalog.get("dataset") or catalog.get("dcat:dataset") or []
    datasets = datasets if isinstance(datasets, list) else [datasets]
    for dataset in datasets:
        if dataset.get("@id") == asset_id:
            offers = dataset.get("hasPolicy") or dataset.get("odrl:hasPolicy")
            return offers[0] if isinstance(offers, list) else offers
    raise StepFailed(f"the catalog holds no dataset {asset_id}")


def _negotiate(consumer: Node, provider: Node, asset_id: str, offer: dict) -> dict:
    request = {
        "@context": MGMT_CONTEXT, "@type": "ContractRequest",
        "counterPartyAddress": provider.dsp, "counterPartyId": provider.participant_id,
        "protocol": "dataspace-protocol-http:2025-1",
        "policy": {**offer, "@type": "Offer", "assigner": provider.participant_id, "target": asset_id},
    }
    created = consumer.call("POST", "/v3/contractnegotiations", request)
    return _wait_state(consumer, created["@id"])


def _story(nodes: dict[str, Node], workdir: Path) -> None:
    nordguss, achsen, motorwerke = nodes["nordguss"], nodes["achsen"], nodes["motorwerke"]

    console.rule("[bold]1. Three companies start their connectors")
    for node in nodes.values():
        console.print(f"  {node.company.name:15} {node.company.role:38} {node.company.bpn}  {node.participant_id}")
        console.print(f"  {'':15} DSP {node.dsp}   management {node.base}{MANAGEMENT_PATH}/v3")
    _publish(nordguss, "nordguss-pcf-NG-WC-400", "NG-WC-400", "PCF of wheel-carrier casting NG-WC-400", ACHSEN)
    _publish(achsen, "achsen-pcf-AX-RM-7", "AX-RM-7", "PCF of rear-axle module AX-RM-7", MOTORWERKE)
    console.print("  Nordguss publishes the PCF of its casting NG-WC-400 for Achsen;"
                  " Achsen publishes the PCF of its axle module AX-RM-7 for Motorwerke.")

    console.rule("[bold]2. Achsen asks Nordguss's catalog and negotiates the casting PCF")
    catalog = _catalog(achsen, nordguss)
    offer = _first_offer(catalog, "nordguss-pcf-NG-WC-400")
    console.print(f"  offer {offer['@id']}")
    console.print("  policy: " + json.dumps(offer.get("permission", offer.get("odrl:permission")), separators=(",", ":"))[:300])
    done = _negotiate(achsen, nordguss, "nordguss-pcf-NG-WC-400", offer)
    if done["state"] != "FINALIZED":
        raise StepFailed(f"Achsen's negotiation ended {done['state']}: {done.get('errorDetail')}")
    agreement = achsen.call("GET", f"/v3/contractnegotiations/{done['@id']}/agreement")
    provider_copy = nordguss.call("GET", f"/v3/contractagreements/{agreement['@id']}")
    console.print(f"  [green]FINALIZED[/green]: agreement {agreement['@id']} for asset {agreement['assetId']}")
    console.print(f"  both sides hold it: Achsen (consumer) and Nordguss (provider {provider_copy['providerId']})")

    console.rule("[bold]3. Motorwerke negotiates Achsen's module PCF")
    offer = _first_offer(_catalog(motorwerke, achsen), "achsen-pcf-AX-RM-7")
    done = _negotiate(motorwerke, achsen, "achsen-pcf-AX-RM-7", offer)
    if done["state"] != "FINALIZED":
        raise StepFailed(f"Motorwerke's negotiation ended {done['state']}: {done.get('errorDetail')}")
    console.print(f"  [green]FINALIZED[/green]: agreement {done['contractAgreementId']}")

    console.rule("[bold]4. A request that does not match the offer is refused, with the reason")
    tampered = json.loads(json.dumps(offer))
    tampered["permission"] = [{"action": "use"}]  # drops the usage constraints the offer requires
    done = _negotiate(motorwerke, achsen, "achsen-pcf-AX-RM-7", tampered)
    if done["state"] != "TERMINATED" or not done.get("errorDetail"):
        raise StepFailed(f"the altered offer should have been refused with a reason; got {done}")
    console.print(f"  [yellow]TERMINATED[/yellow]: {done['errorDetail']}")

    console.rule("[bold]5. Where things are")
    console.print(f"  configs, SQLite databases and logs: {workdir}")
    for node in nodes.values():
        console.print(f"  {node.company.name:15} log {workdir / 'logs' / (node.company.key + '.log')}")


def run_demo(workdir: Path, *, keep_running: bool = False) -> int:
    workdir = workdir.resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "logs").mkdir(parents=True)
    nodes = {c.key: Node(c, free_port(), secrets.token_urlsafe(16), secrets.token_urlsafe(16)) for c in COMPANIES}
    _write_configs(workdir, list(nodes.values()))
    console.print(Panel.fit("Pontis demo: a three-company data space on SQLite", style="bold"))
    try:
        for node in nodes.values():
            node.process = start_connector(node.company.key, workdir / f"{node.company.key}.toml",
                                           workdir / "logs" / f"{node.company.key}.log", node.base)
        for node in nodes.values():
            wait_ready(node.process)
        _story(nodes, workdir)
        if keep_running:
            console.print("\nThe data space stays up; press Ctrl-C to stop it.")
            while True:
                time.sleep(3600)
        console.print("\n[bold green]Demo finished: every step succeeded.[/bold green]")
        return 0
    except StepFailed as exc:
        console.print(f"\n[bold red]Demo step failed:[/bold red] {exc}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for node in nodes.values():
            if node.process is not None:
                node.process.stop()
            node.http.close()
