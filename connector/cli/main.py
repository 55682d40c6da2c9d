"""``connector init | serve | demo``."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import typer

from connector.cli.output import Console
from connector.config import ConfigError, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Pontis: a data-space connector.")
console = Console(stderr=True)

from connector.cli import policy as _policy  # noqa: E402  (sub-commands register after the app)

app.add_typer(_policy.app, name="policy")

from connector.cli import identity as _identity  # noqa: E402

_identity.register(app)  # keys, issuer, sign, verify, agreement

from connector.cli import offers as _offers  # noqa: E402

_offers.register(app)  # offer verify

from connector.cli import peers as _peers  # noqa: E402

app.add_typer(_peers.app, name="peer")  # peer add | list | remove | token, without a restart

from connector.cli import fetch as _fetch  # noqa: E402

_fetch.register(app)  # fetch: catalog → negotiate → transfer → download

from connector.cli import pcf as _pcf  # noqa: E402

_pcf.register(app)  # pcf import | request | rollup
from connector.cli import parts as _parts  # noqa: E402

app.add_typer(_parts.app, name="parts")  # parts import

from connector.cli import gaiax as _gaiax  # noqa: E402

app.add_typer(_gaiax.app, name="gaiax")  # gaiax init | onboard | renew | label | offerings | verify-label | mock
from connector.cli import provenance as _provenance  # noqa: E402

_provenance.register(app)  # provenance: a part's supply chain, hop by hop (IRS jobs)
from connector.cli import credentials as _credentials  # noqa: E402

_credentials.register(app)  # credentials request | list, bpn resolve, issuer admit | serve (DCP issuance)

from connector.cli import audit as _audit  # noqa: E402

app.add_typer(_audit.app, name="audit")  # audit verify | export | checkpoint

from connector.cli import staff as _staff  # noqa: E402

app.add_typer(_staff.app, name="staff")  # staff key | hash: management keys with roles


@app.command()
def init(
    participant_id: str = typer.Option(..., "--participant-id", help="your participant id (DID or BPN)"),
    bpn: str = typer.Option(None, "--bpn", help="your Business Partner Number (BPNL...)"),
    name: str = typer.Option(None, "--name", help="your company's name"),
    port: int = typer.Option(8181, "--port"),
    out: Path = typer.Option(Path("connector.toml"), "--out", help="where to write the config"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing file"),
    auth: str = typer.Option("static-token", "--auth", help="how peers authenticate: static-token or dcp"),
) -> None:
    """Write a config for a new company, with a fresh API key and peer token, and Ed25519 keys
    (<name>.keys.json, mode 0600, encrypted with $PONTIS_KEY_PASSPHRASE if it is set)."""
    if out.exists() and not force:
        console.print(f"[red]{out} exists; pass --force to overwrite it[/red]")
        raise typer.Exit(2)
    from connector.services.peers import BPN

    if bpn is not None and not BPN.match(bpn):
        console.print(f"[red]--bpn {bpn!r} is not a Business Partner Number:[/red] expected BPNL and 12 capital "
                      "letters or digits, such as BPNL000000000001")
        raise typer.Exit(2)
    if not (participant_id.startswith("did:") or BPN.match(participant_id)):
        console.print(f"[red]--participant-id {participant_id!r}:[/red] expected a DID (did:web:your.host, or "
                      "did:web:localhost%3A8181 to try it on one machine) or a BPN")
        raise typer.Exit(2)
    from connector.cli.configs import render_config

    out.parent.mkdir(parents=True, exist_ok=True)
    identity_section = _identity.init_identity(out, participant_id, auth, force=force)
    out.write_text(render_config(
        participant_id=participant_id, bpn=bpn, name=name, port=port,
        database_url=f"sqlite:///var/{out.stem}.db",
        api_key=secrets.token_urlsafe(24), token=secrets.token_urlsafe(24), peers=[],
        extra=identity_section,
    ))
    out.chmod(0o600)  # it holds the API key
    console.print(f"wrote {out}; start it with: connector serve --config {out}")


@app.command()
def serve(
    config: Path = typer.Option(..., "--config", "-c", help="the company's TOML config"),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Run the connector: DSP for peers, the management API for staff."""
    import uvicorn

    from connector.app import create_app
    from connector.cli.startup import StartupError, check_port_free, open_database

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        console.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from None
    tls: dict = {}
    if settings.server.tls:  # HTTPS ([server] tls_cert_file/tls_key_file; PACT needs it)
        if settings.server.tls_self_signed:
            from connector.pact.tls import ensure_self_signed

            ensure_self_signed(settings.server.tls_cert_file or "", settings.server.tls_key_file or "", settings.server.host)
        tls = {"ssl_certfile": settings.server.tls_cert_file, "ssl_keyfile": settings.server.tls_key_file}
    try:  # said in one line, before anything announces the connector
        check_port_free(settings.server.host, settings.server.port)
        if settings.mqtt.enabled:  # [mqtt]: the broker's ports and certificate, said the same way
            from connector.mqtt.service import check_certificate, configured_ports

            for port in configured_ports(settings.mqtt):
                check_port_free(settings.mqtt.host, port, "[mqtt]")
            try:
                check_certificate(settings.mqtt)
            except ValueError as exc:
                raise StartupError(str(exc)) from None
        open_database(settings).dispose()
    except StartupError as exc:
        console.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(2) from None
    from connector.ops.logs import configure_logging

    configure_logging(log_level, settings.log.format)  # [log] format: text or json, with correlation ids
    uvicorn.run(
        create_app(settings), host=settings.server.host, port=settings.server.port,
        log_level=log_level, access_log=log_level == "debug", log_config=None, **tls,
    )


@app.command()
def demo(
    keep_running: bool = typer.Option(False, "--keep-running", help="leave the data space up afterwards"),
    workdir: Path = typer.Option(Path("var/demo"), "--workdir", help="where configs, databases and logs go"),
) -> None:
    """Start a three-company data space on SQLite and tell its story."""
    from connector.cli.demo import run_demo

    sys.exit(run_demo(workdir, keep_running=keep_running))


if __name__ == "__main__":  # pragma: no cover
    app()
