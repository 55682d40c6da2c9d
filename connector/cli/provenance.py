"""``connector provenance``: where a part came from (or what it went into), across the suppliers.

    connector provenance --config CONFIG PART_ID [--direction down|up] [--bpn BPN] [--out tree.html]

It drives the local connector's management API the way any IRS client would: ``POST
/management/irs/jobs``, then ``GET`` until the job is done, then prints the tree (one line per
part: company, quantity, whether its data's signature verified, and why a branch was refused) and
writes the connector's own picture of it (``/management/irs/jobs/{id}/tree.html``) to ``--out``.
``PART_ID`` is the part's globalAssetId (``urn:uuid:...``), or one of our own parts' VIN, serial
or batch number, looked up in our registry. ``--bpn`` names the part's owner (default: us).
Exits 1 if the part is unknown (or its owner refused it), or the job did not complete; refused
branches further down are shown, with their reasons, and still exit 0. 2 for bad options.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console

from connector.cli.fetch import management_client
from connector.config import ConfigError, load_settings
from connector.provenance.render import tree_lines

console = Console(soft_wrap=True, highlight=False)
LOCAL_ID_NAMES = ("van", "partInstanceId", "batchId", "jisNumber", "manufacturerPartId")


class ProvenanceError(Exception):
    """A step that failed, with the reason to show."""


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        try:
            body = response.json()
            reason = "; ".join(body.get("messages") or []) if isinstance(body, dict) and "messages" in body else \
                "; ".join(str(e.get("message", e)) for e in body) if isinstance(body, list) else str(body)
        except ValueError:
            reason = response.text[:300]
        raise ProvenanceError(f"{what}: HTTP {response.status_code}: {reason}")
    return response.json() if response.content else None


def resolve_part(client: httpx.Client, part: str) -> str:
    """A globalAssetId as given; a VIN, serial or batch number looked up among our own twins."""
    if part.startswith("urn:"):
        return part
    for name in LOCAL_ID_NAMES:
        link = _b64(json.dumps({"name": name, "value": part}, separators=(",", ":")))
        found = _check(client.get(f"/v3/registry/lookup/shells?assetIds={link}"), "registry lookup")
        ids = (found or {}).get("result") or []
        if ids:
            shell = _check(client.get(f"/v3/registry/shell-descriptors/{_b64(ids[0])}"), "registry")
            if shell.get("globalAssetId"):
                return shell["globalAssetId"]
    raise ProvenanceError(f"PART_ID {part!r}: not a globalAssetId (urn:uuid:...) and none of our own twins has it "
                          f"as {', '.join(LOCAL_ID_NAMES)}")


def run_job(client: httpx.Client, body: dict, timeout: float) -> dict:
    """Register the job and wait for its end; the final answer (job, relationships, tombstones...)."""
    job_id = _check(client.post("/irs/jobs", json=body), "registering the job")["id"]
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/irs/jobs/{job_id}", params={"returnUncompletedJob": "false"})
        answer = _check(response, "reading the job")
        if response.status_code == 200:
            return answer
        if time.monotonic() > deadline:
            client.put(f"/irs/jobs/{job_id}")
            raise ProvenanceError(f"job {job_id} still {answer['job']['state']} after {timeout:g} s; canceled it")
        time.sleep(0.1)


def provenance(
    part: str = typer.Argument(..., metavar="PART_ID", help="globalAssetId, or one of our own VIN/serial/batch numbers"),
    config: Path = typer.Option(Path("connector.toml"), "--config", "-c", envvar="PONTIS_CONFIG"),
    direction: str = typer.Option("down", "--direction", help="down: what it is made of; up: what it went into"),
    bpn: str = typer.Option(None, "--bpn", help="the part's owner (default: our own BPN)"),
    depth: int = typer.Option(None, "--depth", min=1, max=100, help="levels to follow (default: all)"),
    aspects: str = typer.Option("SerialPart,Batch", "--aspects", help="aspects to collect, comma separated"),
    out: Path = typer.Option(None, "--out", "-o", help="write the HTML/SVG picture of the tree here"),
    save_json: Path = typer.Option(None, "--json", help="write the whole IRS answer here"),
    timeout: float = typer.Option(120.0, "--timeout", help="seconds to wait for the job"),
) -> None:
    """Traverse a part's supply chain through the local connector and print (and draw) its tree."""
    if direction not in ("down", "up", "downward", "upward"):
        console.print(f"[red]--direction: expected down or up, got {direction!r}[/red]")
        raise typer.Exit(2)
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        console.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from exc
    owner = bpn or settings.bpn
    if not owner:
        console.print("[red]--bpn: the config names no bpn of ours; say whose part it is[/red]")
        raise typer.Exit(2)
    with management_client(settings, 30) as client:
        try:
            part_id = resolve_part(client, part) if owner == settings.bpn else part
            body: dict[str, Any] = {"key": {"globalAssetId": part_id, "bpn": owner},
                                    "direction": "upward" if direction.startswith("up") else "downward",
                                    "bomLifecycle": "asBuilt", "collectAspects": True,
                                    "aspects": [a.strip() for a in aspects.split(",") if a.strip()]}
            if depth:
                body["depth"] = depth
            answer = run_job(client, body, timeout)
            html = client.get(f"/irs/jobs/{answer['job']['id']}/tree.html") if out else None
        except (ProvenanceError, httpx.HTTPError) as exc:
            console.print(f"[red]provenance failed:[/red] {exc}")
            raise typer.Exit(1) from exc
    job = answer["job"]
    for line in tree_lines(answer, {settings.bpn: settings.name} if settings.bpn and settings.name else None):
        console.print(line, markup=False)
    stones = answer.get("tombstones") or []
    console.print(f"job {job['id']}: {job['state']}, {len(answer.get('relationships') or [])} relationships, "
                  f"{len(stones)} tombstones")
    if job.get("exception"):
        console.print(f"[red]{job['exception'].get('errorDetail')}[/red]")
    if out is not None and html is not None:
        out.write_text(html.text)
        console.print(f"the picture: {out}")
    if save_json is not None:
        save_json.write_text(json.dumps(answer, indent=2))
    root = part_id.lower().removeprefix("urn:uuid:")
    if job["state"] != "COMPLETED" or any((s.get("catenaXId") or "").lower().removeprefix("urn:uuid:") == root
                                          for s in stones):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("provenance")(provenance)
