"""``connector peer add | list | remove | token``: the peers a connector knows, without a restart.

The commands write the connector's database (the one its config names), so they work whether
it runs or not; a running connector sees an added peer on that peer's first call and stops
accepting a removed one within two seconds. Peers in the config's ``[[peers]]`` are listed
too, and are read-only here. ``connector peer token`` prints the token this connector presents,
for the peer's admin to ``peer add`` on their side (static-token mode).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from connector.cli.output import Console
from connector.config import ConfigError, Settings, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="The peers this connector knows.")
out = Console()
err = Console(stderr=True)
CONFIG = typer.Option(Path("connector.toml"), "--config", "-c", envvar="PONTIS_CONFIG", help="your connector's config")


def _settings(config: Path) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        err.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from None


def _directory(settings: Settings):
    from connector.cli.startup import StartupError, open_database
    from connector.services.peers import peer_directory

    try:
        db = open_database(settings)
    except StartupError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    return peer_directory(settings, db)


@app.command("add")
def add(
    peer_id: str = typer.Argument(..., help="the peer's participant id: a DID (did:web:...) or a BPN"),
    token: str = typer.Option(None, "--token", help="static-token mode: the token this peer presents to you "
                              "(its admin runs `connector peer token`)"),
    dsp_url: str = typer.Option(None, "--dsp-url", help="the peer's DSP base; default: read from its did:web document"),
    bpn: str = typer.Option(None, "--bpn", help="the peer's Business Partner Number (BPNL...)"),
    claims: str = typer.Option(None, "--claims", help='static-token mode: what the peer may claim, as JSON, e.g. '
                               '\'{"frameworkAgreements": {"DataExchangeGovernance": "1.0"}}\''),
    config: Path = CONFIG,
) -> None:
    """Add a peer; it takes effect at once, also on a running connector."""
    from connector.services.errors import ServiceError
    from connector.services.peers import PeerInput, resolver_for

    settings = _settings(config)
    try:
        parsed = json.loads(claims) if claims else {}
    except ValueError as exc:
        err.print(f"[red]--claims is not JSON:[/red] {exc}")
        raise typer.Exit(2) from None
    if not isinstance(parsed, dict):
        err.print("[red]--claims:[/red] expected a JSON object such as {\"membership\": true}")
        raise typer.Exit(2)
    directory = _directory(settings)
    try:
        entry = directory.add(PeerInput(peer_id, token, dsp_url, bpn, parsed),
                              resolver=resolver_for(settings, peer_id) if dsp_url is None else None)
    except ServiceError as exc:
        err.print(f"[red]peer not added:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        directory.db.dispose()
    out.print(f"[green]added[/green] peer {entry.id}" + (f" at {entry.dsp_url}" if entry.dsp_url else "")
              + ("" if entry.token else " (no token: it cannot call you in static-token mode)"))


@app.command("list")
def list_peers(config: Path = CONFIG, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """The known peers: the config's [[peers]] (read-only) and the added ones."""
    directory = _directory(_settings(config))
    try:
        peers = [p.public() for p in directory.all()]
    finally:
        directory.db.dispose()
    if as_json:
        typer.echo(json.dumps(peers, indent=2))
        return
    if not peers:
        out.print("no peers yet; add one with: connector peer add DID --token TOKEN --config CONFIG")
    for p in peers:
        out.print(f"{p['id']}  {p['dspUrl'] or '(no DSP URL)'}  bpn={p['bpn'] or '-'}  "
                  f"token={'yes' if p['hasToken'] else 'no'}  {'[config, read-only]' if p['readOnly'] else ''}"
                  f"{'  claims=' + json.dumps(p['claims']) if p['claims'] else ''}".rstrip())


@app.command("remove")
def remove(peer_id: str = typer.Argument(..., help="the peer's participant id"), config: Path = CONFIG) -> None:
    """Remove an added peer; a running connector refuses it within two seconds."""
    from connector.services.errors import ServiceError

    directory = _directory(_settings(config))
    try:
        directory.remove(peer_id)
    except ServiceError as exc:
        err.print(f"[red]peer not removed:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        directory.db.dispose()
    out.print(f"removed peer {peer_id}")


@app.command("token")
def token(config: Path = CONFIG) -> None:
    """Print the token this connector presents to its peers, for their `connector peer add --token`."""
    settings = _settings(config)
    if not settings.token:
        err.print("[red]no token:[/red] the config has no `token` (static-token mode needs one)")
        raise typer.Exit(2)
    typer.echo(settings.token)
