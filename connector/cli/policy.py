"""``connector policy validate FILE`` and ``connector policy explain --policy ID --as DID``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import typer

from connector.cli.output import Console
from connector.config import MANAGEMENT_PATH, ConfigError, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Check and explain usage policies.")
out = Console()
err = Console(stderr=True)


@app.command()
def validate(
    file: Path = typer.Argument(..., help="a policy in the DSP/Catena-X compact form ({\"permission\": [...]})"),
    kind: str = typer.Option(None, "--kind", help="access or usage (default: from the actions)"),
) -> None:
    """Check a policy against the Catena-X 2025-09 profile; exit 1 naming each violation.

    Unknown terms (a misspelt "permissions") and a policy without any rule are violations too,
    unless the policy says "allowAll": true (everyone may, on purpose)."""
    from connector.policy.written import validate_policy_document

    try:
        doc = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        err.print(f"[red]{file}: cannot read the policy:[/red] {exc}")
        raise typer.Exit(2) from exc
    if kind not in (None, "access", "usage"):
        err.print(f"[red]--kind {kind!r}:[/red] expected access or usage")
        raise typer.Exit(2)
    violations = validate_policy_document(doc, kind=kind)  # type: ignore[arg-type]  # checked just above: None, access or usage
    if violations:
        for v in violations:
            err.print(f"[red]✗[/red] {v}")
        raise typer.Exit(1)
    for warning in _dcp_catalog_warnings(doc, kind):
        err.print(f"[yellow]![/yellow] warning: {warning}")
    out.print(f"[green]✓[/green] {file} is a valid policy under the Catena-X 2025-09 profile")


def _dcp_catalog_warnings(doc: dict, kind: str | None) -> list[str]:
    """An access policy that would hide its offer in dcp mode (valid, but probably not meant)."""
    from connector.identity.dcp_messages import catalog_unprovable
    from connector.policy import infer_kind, policy_from_compact_dsp

    policy = policy_from_compact_dsp(doc["policy"] if isinstance(doc.get("policy"), dict) else doc)
    return catalog_unprovable(policy) if (kind or infer_kind(policy)) == "access" else []


@app.command()
def explain(
    policy: str = typer.Option(..., "--policy", help="the policy definition id"),
    as_: str = typer.Option(..., "--as", help="the participant (DID) to evaluate for"),
    config: Path = typer.Option(Path("connector.toml"), "--config", "-c", help="your connector's config"),
    scope: str = typer.Option("contract.negotiation", "--scope", help="catalog, contract.negotiation or transfer.process"),
    claims: str = typer.Option(None, "--claims", help="a hypothetical requester's claims as JSON"),
) -> None:
    """Evaluate a policy for a (hypothetical) requester and say which constraints pass or fail."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        err.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from exc
    body: dict = {"participantId": as_, "scope": scope}
    if claims:
        try:
            body["claims"] = json.loads(claims)
        except ValueError as exc:
            err.print(f"[red]--claims is not JSON:[/red] {exc}")
            raise typer.Exit(2) from exc
    url = f"{settings.public_url}{MANAGEMENT_PATH}/v3/policydefinitions/{policy}/explain"
    try:
        r = httpx.post(url, json=body, headers={"X-Api-Key": settings.api_key}, timeout=30)
    except httpx.HTTPError as exc:
        err.print(f"[red]cannot reach the connector at {url}:[/red] {exc}")
        raise typer.Exit(2) from exc
    if r.status_code != 200:
        err.print(f"[red]{r.status_code}:[/red] {r.text}")
        raise typer.Exit(2)
    result = r.json()
    verdict = "[green]ALLOWED[/green]" if result["allowed"] else "[red]DENIED[/red]"
    out.print(f"{verdict} policy {policy} for {as_} in scope {scope} (claims: {result['claimsSource']})")
    for line in result["explanation"]:
        out.print(f"  {line}")
    raise typer.Exit(0 if result["allowed"] else 1)
