"""DCP issuance on the command line.

- ``connector issuer admit --did DID [--bpn BPN] --type Membership ...``: let a holder request those types;
- ``connector issuer serve --dir issuer --port 8190``: run the issuer service (DCP issuance, DID
  document, status list, BPN-DID directory; :mod:`connector.identity.issuer_service`);
- ``connector credentials request --issuer URL --type MembershipCredential``: ask an issuer for
  credentials; the issuer delivers them to the running connector's Credential Service, which
  stores them in its wallet. Exit 0 when issued, 1 when refused or rejected (the reason on
  stderr), 2 for unusable input;
- ``connector credentials list``: what the wallet holds;
- ``connector bpn resolve BPN``: a partner's DID from its BPN: the configured and stored peers
  first, then the BPN-DID directory (``[identity] bpn_directory_url``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from connector.cli.identity import _passphrase, err, issuer_app, out

credentials_app = typer.Typer(no_args_is_help=True, help="Request and list this connector's credentials (DCP).")
bpn_app = typer.Typer(no_args_is_help=True, help="Business Partner Numbers and DIDs.")
CONFIG = typer.Option(Path("connector.toml"), "--config", "-c", envvar="PONTIS_CONFIG", help="your connector's config")


def register(app: typer.Typer) -> None:
    app.add_typer(credentials_app, name="credentials")
    app.add_typer(bpn_app, name="bpn")


def _usage(message: str) -> typer.Exit:
    err.print(f"error: {message}")
    return typer.Exit(2)


# --- issuer -------------------------------------------------------------------------------------------

@issuer_app.command("admit")
def issuer_admit(
    holder: str = typer.Option(..., "--did", help="the holder's DID"),
    kinds: list[str] = typer.Option(..., "--type", help="Membership, Bpn, DataExchangeGovernance (repeatable)"),
    bpn: str | None = typer.Option(None, "--bpn", help="the holder's BPNL (needed for Bpn; listed in the directory)"),
    directory: Path = typer.Option(Path("issuer"), "--dir", help="the issuer's folder"),
) -> None:
    """Let a holder request these credential types (DCP issuance) and list it in the BPN-DID directory."""
    from connector.identity.dcp_issuance import IssuanceBook
    from connector.identity.did import IdentityError
    from connector.identity.issuer import Issuer

    try:
        entry = IssuanceBook(Issuer.load(directory, _passphrase())).admit(holder, bpn=bpn, kinds=kinds)
    except IdentityError as exc:
        raise _usage(exc.reason) from None
    out.print(f"admitted {holder} ({bpn or 'no BPN'}) for {', '.join(entry['types'])}")


def issuer_asgi(directory: Path, *, allow: list[str], insecure_localhost: bool) -> Any:
    """The issuer service app with a guarded HTTP client (admitted holders count as configured)."""
    from connector.identity.dcp_issuance import IssuanceBook
    from connector.identity.did import DidResolver
    from connector.identity.issuer import Issuer
    from connector.identity.issuer_service import issuer_app as build
    from connector.services.ssrf import Allowlist, OutgoingGuard
    from connector.services.transport import DocumentFetch, sync_client

    book = IssuanceBook(Issuer.load(directory, _passphrase()))
    guard = OutgoingGuard(allowlist=Allowlist.parse(allow), insecure_did_web=insecure_localhost,
                          runtime_peers=lambda: [(did, None) for did in book.holders()])
    resolver = DidResolver(allow_insecure_localhost=insecure_localhost, fetch=DocumentFetch(guard), ttl_seconds=60)
    return build(directory, resolver=resolver, http=sync_client(guard, timeout=10.0), passphrase=_passphrase())


@issuer_app.command("serve")
def issuer_serve(
    directory: Path = typer.Option(Path("issuer"), "--dir", help="the issuer's folder"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8190, "--port"),
    allow: list[str] | None = typer.Option(None, "--allow", help="a host or network holders may be on (repeatable)"),
    insecure_localhost: bool = typer.Option(False, "--allow-insecure-localhost",
                                            help="resolve did:web:localhost over plain http (development)"),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Run the issuer service: DCP issuance, its DID document and status list, the BPN-DID directory."""
    import logging

    import uvicorn

    from connector.identity.did import IdentityError

    try:
        app = issuer_asgi(directory, allow=allow or [], insecure_localhost=insecure_localhost)
    except (IdentityError, ValueError) as exc:
        raise _usage(getattr(exc, "reason", str(exc))) from None
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug")


# --- holder -------------------------------------------------------------------------------------------

def _holder(config: Path, *urls: str) -> tuple[Any, Any, Any]:
    """(settings, identity, guarded client) from a connector config."""
    from connector.config import ConfigError, load_settings
    from connector.identity.holder_web import holder_client
    from connector.identity.keys import KeyFileError
    from connector.identity.wallet import identity_from_settings
    from connector.services.ssrf import OutgoingGuard
    from connector.services.transport import DocumentFetch

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        raise _usage(f"config error: {exc}") from None
    guard = OutgoingGuard.from_settings(settings)
    try:
        identity = identity_from_settings(settings, DocumentFetch(guard))
    except KeyFileError as exc:
        raise _usage(str(exc)) from None
    if identity is None or not identity.did.startswith("did:web:"):
        raise _usage("requesting credentials needs [identity] key_file and a did:web participant_id")
    return settings, identity, holder_client(settings, guard, *urls)


@credentials_app.command("request")
def credentials_request(
    issuer: str = typer.Option(..., "--issuer", help="the issuer service's URL (its IssuerService endpoint)"),
    kinds: list[str] = typer.Option(..., "--type", help="e.g. MembershipCredential (repeatable)"),
    config: Path = CONFIG,
    wait: float = typer.Option(30.0, "--wait", help="seconds to wait for the issuer's decision"),
    profile: str = typer.Option("vc20-bssl/jwt", "--profile",
                                help="the DCP profile: vc20-bssl/jwt, or vc11-sl2021/jwt (Factory-X, ADR 003)"),
) -> None:
    """Request credentials from an issuer (DCP); they are delivered to the running connector."""
    from connector.identity.did import IdentityError
    from connector.identity.holder import request_credentials
    from connector.identity.vc11 import PROFILES

    if profile not in PROFILES:
        raise _usage(f"--profile {profile!r}: expected one of {', '.join(PROFILES)}")
    _, identity, http = _holder(config, issuer)
    try:
        outcome = request_credentials(identity, http, issuer, kinds, wait_seconds=wait, profile=profile)
    except IdentityError as exc:
        err.print(f"refused: {exc.reason}")
        raise typer.Exit(1) from None
    finally:
        http.close()
    if outcome.status != "ISSUED":
        err.print(f"request {outcome.holder_pid} to {outcome.issuer}: {outcome.status}"
                  + (f": {outcome.reason}" if outcome.reason else " (no decision yet)"))
        raise typer.Exit(1)
    out.print(f"issued: {', '.join(kinds)} from {outcome.issuer} (request {outcome.issuer_pid}); "
              "delivered to this connector's wallet")


@credentials_app.command("list")
def credentials_list(config: Path = CONFIG) -> None:
    """The credentials in this connector's wallet, with their issuer and expiry."""
    _, identity, http = _holder(config)
    http.close()
    for entry in identity.wallet.entries:
        out.print(f"{entry.get('type', ['?'])[-1]}  {entry.get('id')}  from {entry.get('issuer')}  "
                  f"until {entry.get('validUntil') or '-'}")


@bpn_app.command("resolve")
def bpn_resolve(bpn: str = typer.Argument(..., help="a BPNL"), config: Path = CONFIG) -> None:
    """A partner's DID (and DSP URL) from its BPN: our peers first, then the BPN-DID directory."""
    from connector.cli.peers import _directory
    from connector.identity.did import IdentityError
    from connector.identity.holder_web import directory_from_settings
    from connector.services.partners import find_partner
    from connector.services.ssrf import OutgoingGuard

    settings, identity, http = _holder(config)
    http.close()
    peers = _directory(settings)
    try:
        partner = find_partner(bpn, peers, directory_from_settings(settings, identity, OutgoingGuard.from_settings(settings)),
                               identity.resolver)
    except IdentityError as exc:
        err.print(exc.reason)
        raise typer.Exit(1) from None
    finally:
        peers.db.dispose()
    out.print(f"{partner.did}  ({partner.source})")
    out.print(f"  DSP {partner.dsp_url}" if partner.dsp_url else f"  no DSP URL: {partner.note}")


# --- running an issuer beside connectors (the demo, integration tests) --------------------------------

def start_issuer(directory: Path, port: int, log: Path, *, allow: tuple[str, ...] = ()) -> Any:
    """``connector issuer serve`` as a process on 127.0.0.1:``port`` (did:web:localhost over http)."""
    import os
    import subprocess
    import sys

    from connector.cli.launch import ConnectorProcess

    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "connector.cli.main", "issuer", "serve", "--dir", str(directory), "--port", str(port),
             "--allow-insecure-localhost", *[a for host in allow for a in ("--allow", host)]],
            stdout=handle, stderr=subprocess.STDOUT, env=dict(os.environ))
    return ConnectorProcess("issuer", directory, log, f"http://127.0.0.1:{port}", process)


def wait_issuer_ready(proc: Any, service_path: str, timeout: float = 30) -> None:
    from connector.cli.launch import wait_ready

    wait_ready(proc, timeout, path=service_path + "/metadata")
