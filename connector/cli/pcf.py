"""``connector pcf import | request | rollup``: a supplier's carbon footprints from the command line.

- ``import --config CONFIG FILE [--policy ID] [--access-policy ID]``: a JSON array of footprints
  (io.catenax.pcf 7/8/9, PACT v2/v3) or a CSV (columns: ``connector.pcf.csvfile``), validated,
  signed, stored and offered by the running connector; all or nothing.
- ``request --config CONFIG --supplier BPN_OR_DID --product ID [--json] [--out FILE]``: through the
  running connector (``POST /management/v3/pcf/requests``), which negotiates or reuses an
  agreement, pulls or asks (CX-0136), verifies the supplier's signature and keeps the document.
- ``rollup --config CONFIG --bom BOM.json [--allow-missing] [--publish] [--json]``: each
  component's footprint from its supplier (concurrently; a component of our own BPN is read from
  our own published footprints), rolled up by ``connector.pcf.rollup``; ``--publish`` stores the
  result as our own signed footprint, its precedingPfIds naming the suppliers' footprints.

Exit codes: 0 done; 1 a footprint could not be had (request), or a component is missing, denied
or in error (rollup, unless --allow-missing); 2 bad input (file, BOM, config) or no connector.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from connector.config import ConfigError, Settings, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Carbon footprints: import, request, rollup.")
err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)
STARTING_SECONDS = 45  # how long to wait for a connector that does not accept connections yet


def _settings(config: Path) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        err.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _management(settings: Settings, timeout: float = 120) -> httpx.Client:
    from connector.cli.fetch import management_client

    return management_client(settings, timeout)


def _call(client: httpx.Client, method: str, path: str, refused: str | None = None, **kwargs: Any) -> Any:
    deadline, waited = time.monotonic() + STARTING_SECONDS, False
    while True:
        try:
            response = client.request(method, path, **kwargs)
            break
        except httpx.ConnectError as exc:  # a connector that is starting gets a moment
            if time.monotonic() < deadline:
                if not waited:
                    err.print(f"[dim]waiting for the connector at {client.base_url} to answer...[/dim]")
                    waited = True
                time.sleep(0.5)
                continue
            err.print(f"[red]the connector at {client.base_url} did not answer[/red] ({exc}); "
                      "is it running (connector serve --config ...)?")
            raise typer.Exit(2) from exc
        except httpx.HTTPError as exc:
            err.print(f"[red]the connector at {client.base_url} failed to answer[/red] ({type(exc).__name__}: {exc})")
            raise typer.Exit(2) from exc
    if not response.is_success:
        try:
            body = response.json()
            reasons = [e.get("message", e) for e in body] if isinstance(body, list) else [body]
        except ValueError:
            reasons = [response.text[:500]]
        err.print(f"[red]{refused or f'{method} {path} refused'} (HTTP {response.status_code}):[/red]")
        for reason in reasons:
            err.print(f"  {reason}")
        raise typer.Exit(2)
    return response.json() if response.content else None


@app.command("import")
def import_footprints(
    file: Path = typer.Argument(..., help="a JSON array of footprints (any version) or a .csv"),
    config: Path = typer.Option(..., "--config", "-c", help="the company's connector config"),
    policy: str = typer.Option(None, "--policy", help="usage policy id (default: the pcf-exchange-usage template)"),
    access_policy: str = typer.Option(None, "--access-policy", help="access policy id (default: member-access)"),
) -> None:
    """Validate, sign, store and offer every footprint of FILE, or none of them (through the running connector)."""
    settings = _settings(config)
    try:
        content = file.read_bytes()
    except OSError as exc:
        err.print(f"[red]{file}: cannot read it:[/red] {exc}")
        raise typer.Exit(2) from exc
    csv = file.suffix.lower() == ".csv"
    params = {k: v for k, v in (("policy", policy), ("accessPolicy", access_policy)) if v}
    with _management(settings) as client:
        rows = _call(client, "POST", "/v3/pcf/footprints", content=content, params=params,
                     headers={"Content-Type": "text/csv" if csv else "application/json"},
                     refused=f"{file}: refused, nothing was stored:")
    for s in rows:
        replaced = f", replaces {', '.join(s['precedingPfIds'])}" if s["precedingPfIds"] else ""
        out.print(f"{s['id']}  {s['productId']}  {s['pcfExcludingBiogenicUptake']} kg CO2e per "
                  f"{s['declaredUnitAmount']} {s['declaredUnit']}  offered as {s['assetId']}{replaced}")
    err.print(f"[green]imported {len(rows)} footprint(s)[/green], signed by {settings.participant_id}")


@app.command("request")
def request_footprint(
    config: Path = typer.Option(..., "--config", "-c", help="the company's connector config"),
    supplier: str = typer.Option(..., "--supplier", help="the supplier's BPN or participant id (a configured peer)"),
    product: str = typer.Option(..., "--product", help="the product's manufacturerPartId"),
    as_json: bool = typer.Option(False, "--json", help="print the outcome as JSON"),
    mode: str = typer.Option("auto", "--mode", help="auto, pull (synchronous) or async (CX-0136 request/PUT)"),
    out_file: Path = typer.Option(None, "--out", "-o", help="also write the signed footprint here"),
    timeout: float = typer.Option(60, "--timeout", help="seconds to wait for the supplier"),
) -> None:
    """Get a supplier's footprint for a product, end to end, signature verified."""
    settings = _settings(config)
    with _management(settings, timeout + 30) as client:
        outcome = _call(client, "POST", "/v3/pcf/requests",
                        json={"supplier": supplier, "productId": product, "mode": mode, "timeoutSeconds": timeout})
    if out_file is not None and outcome.get("footprint"):
        out_file.write_text(json.dumps(outcome["footprint"], indent=2))
    if as_json:
        out.print_json(json.dumps(outcome))
    elif outcome["status"] == "ok":
        doc = outcome["footprint"]
        pcf = doc.get("pcf", {})
        out.print(f"{doc.get('productNameCompany')} ({product}) from {outcome['supplierBpn'] or outcome['supplierId']}: "
                  f"{pcf.get('pcfExcludingBiogenicUptake')} kg CO2e per {pcf.get('declaredUnitAmount')} "
                  f"{pcf.get('declaredUnitOfMeasurement')}")
        out.print(f"  footprint {doc.get('id')} ({doc.get('status')}), via {outcome['via']}, "
                  f"agreement {outcome['agreementId']}")
        out.print(f"  signature verified: {outcome['signer']}; kept by the connector (GET /management/v3/pcf/received)")
    else:
        err.print(f"[red]{outcome['status']}:[/red] {outcome['reason']}")
    raise typer.Exit(0 if outcome["status"] == "ok" else 1)


def _supplied(client: httpx.Client, settings: Settings, component: Any) -> Any:
    """What the connector finds for one component: a supplier's footprint, or one of our own."""
    from connector.pcf.rollup import Supplied
    from connector.services.rollups import supplied_from

    if component.supplier_bpn == settings.bpn:  # made in-house: our own published footprint
        found = _call(client, "GET", "/v3/pcf/footprints",
                      params={"productId": component.product_id, "status": "Active", "limit": 1})
        if not found:
            return Supplied("missing", reason=f"we publish no Active footprint for our own {component.product_id}")
        document = _call(client, "GET", f"/v3/pcf/footprints/{found[0]['id']}")["document"]
    else:
        outcome = _call(client, "POST", "/v3/pcf/requests",
                        json={"supplier": component.supplier_bpn, "productId": component.product_id})
        if outcome["status"] != "ok":
            return Supplied(outcome["status"], reason=outcome["reason"])
        document = outcome["footprint"]
    return supplied_from(document)


def _table(result: Any) -> Table:
    from connector.pcf.rollup import table as rows

    data = rows(result)
    view = Table(title=f"{result.bom.product_name} ({result.bom.product_id})")
    for name in data[0]:
        view.add_column(name, justify="right" if name in ("quantity", "PCF (kg CO2e)", "contribution") else "left")
    for row in data[1:]:
        view.add_row(*row)
    return view


@app.command("rollup")
def rollup(
    config: Path = typer.Option(..., "--config", "-c", help="the company's connector config"),
    bom: Path = typer.Option(..., "--bom", help="the bill of materials (JSON)"),
    allow_missing: bool = typer.Option(False, "--allow-missing", help="roll up without the components not had"),
    publish: bool = typer.Option(False, "--publish", help="store the result as our own signed footprint"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
    policy: str = typer.Option(None, "--policy", help="with --publish: the usage policy id to offer it under"),
    access_policy: str = typer.Option(None, "--access-policy", help="with --publish: the access policy id"),
) -> None:
    """Roll a product's footprint up from its own emissions and its suppliers' footprints."""
    from connector.pcf.rollup import BomError, parse_bom, roll_up

    settings = _settings(config)
    try:
        parsed = parse_bom(json.loads(bom.read_text()))
    except (OSError, ValueError) as exc:
        err.print(f"[red]{bom}: {'not usable' if isinstance(exc, BomError) else 'cannot read it'}:[/red] {exc}")
        raise typer.Exit(2) from exc
    with _management(settings) as client:
        with ThreadPoolExecutor(max_workers=min(16, max(1, len(parsed.components)))) as pool:
            supplied = list(pool.map(lambda c: _supplied(client, settings, c), parsed.components))
        result = roll_up(parsed, supplied)
        published = None
        if publish and (allow_missing or not result.failed):
            published = _publish(client, settings, result, policy, access_policy)
    if as_json:
        out.print_json(json.dumps({**result.to_json(), **({"published": published} if published else {})}))
    else:
        Console(highlight=False, width=max(out.width, 120)).print(_table(result))
        if published:
            out.print(f"published as footprint {published['id']} (asset {published['assetId']})")
    if result.failed:
        for line in result.failed:
            err.print(f"[red]{line.component.product_id} from {line.component.supplier_bpn}: {line.status}[/red]"
                      f" ({line.reason})")
        if not allow_missing:
            err.print("not rolled up completely" + ("; nothing published" if publish else "")
                      + " (--allow-missing rolls up without them)")
            raise typer.Exit(1)


def _publish(client: httpx.Client, settings: Settings, result: Any, policy: str | None,
             access_policy: str | None) -> dict:
    from connector.services.rollups import rolled_up_footprint

    if not settings.name or not settings.bpn:
        err.print("[red]--publish needs name and bpn in the config[/red]")
        raise typer.Exit(2)
    document = rolled_up_footprint(result, company_name=settings.name, bpn=settings.bpn,
                                   now=datetime.now(UTC))
    params = {k: v for k, v in (("policy", policy), ("accessPolicy", access_policy)) if v}
    return _call(client, "POST", "/v3/pcf/footprints", json=[document], params=params)[0]


def register(main: typer.Typer) -> None:
    main.add_typer(app, name="pcf")
