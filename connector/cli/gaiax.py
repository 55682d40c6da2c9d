"""``connector gaiax init | onboard | renew | label | offerings | verify-label | mock``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import typer

from connector.cli.output import Console
from connector.config import ConfigError, Settings, load_settings

app = typer.Typer(no_args_is_help=True, help="Gaia-X: participant credentials, labels, and a local mock GXDCH.")
console = Console(stderr=True)
T = TypeVar("T")
CONFIG = typer.Option(..., "--config", "-c", help="the company's TOML config (with a [gaiax] section)")


def _settings(config: Path) -> Settings:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        console.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from None
    if settings.gaiax is None:
        console.print(f"[red]{config} has no [gaiax] section[/red] (see README, 'Gaia-X')")
        raise typer.Exit(2)
    return settings


def _db(settings: Settings):
    from connector.cli.startup import open_database

    return open_database(settings)


def _with_db(settings: Settings, action: Callable[[Any], T], failed: str) -> T:
    """``action(db)``; an OnboardingError is said in one line (``failed`` with {step} and {reason})."""
    from connector.gaiax.onboarding import OnboardingError

    db = _db(settings)
    try:
        return action(db)
    except OnboardingError as exc:
        console.print("[red]" + failed.format(step=exc.step, reason=exc.reason))
        raise typer.Exit(1) from None
    finally:
        db.dispose()


@app.command()
def init(config: Path = CONFIG,
         ca_dir: Path = typer.Option(..., "--ca-dir", help="the CA that certifies the key (e.g. the mock's --ca-dir)"),
         days: int = typer.Option(365, "--days", help="how long the certificate is valid")) -> None:
    """Make the Gaia-X key (P-256) and its certificate chain under a development CA (the mock trust
    anchor); in production the chain comes from an eIDAS / EV trust service provider instead."""
    settings = _settings(config)
    from connector.gaiax.keys import (
        CertificateAuthority,
        chain_pem,
        generate_private_key,
        load_private_pem,
        write_private_pem,
    )

    gx = settings.gaiax
    assert gx is not None
    now = datetime.now(UTC)
    key_path = Path(gx.key_file)
    private = load_private_pem(key_path) if key_path.exists() else generate_private_key()
    if not key_path.exists():
        write_private_pem(key_path, private)
    ca = CertificateAuthority.load_or_create(ca_dir, "Pontis development trust anchor", now)
    Path(gx.chain_file).write_bytes(chain_pem(ca.issue(private.public_key(), settings.participant_id, now, days)))
    console.print(f"wrote {key_path} (0600) and {gx.chain_file}, certified by {ca.certificate.subject.rfc4514_string()}")


@app.command()
def onboard(config: Path = CONFIG) -> None:
    """Notary → LegalPerson + Issuer → shapes → VP → Compliance → verified label, stored (all or nothing)."""
    settings = _settings(config)
    from connector.gaiax.service import onboard_with_settings

    done = _with_db(settings, lambda db: onboard_with_settings(settings, db, datetime.now(UTC)),
                    "onboarding failed at {step}:[/red] {reason} (nothing was stored)")
    label = done.label
    console.print(f"Gaia-X label {label.level} ({label.rules_version}) for {label.subject}, issued by "
                  f"{label.issuer}, valid until {label.valid_until}; {len(label.covered)} credentials covered")


@app.command()
def renew(config: Path = CONFIG) -> None:
    """Onboard again if the stored label is missing or within renew_before_days of its end (run it daily)."""
    settings = _settings(config)
    from connector.gaiax.onboarding import renewal_due

    db = _db(settings)
    try:
        due, why = renewal_due(db, datetime.now(UTC), settings.gaiax.renew_before_days)  # type: ignore[union-attr]
    finally:
        db.dispose()
    console.print(("renewing: " if due else "not due: ") + why)
    if due:
        onboard(config)


@app.command()
def label(config: Path = CONFIG,
          bundle: Path = typer.Option(None, "--bundle", help="write the label and its credentials here, for partners")) -> None:
    """Show the stored label (its credential subject as JSON)."""
    settings = _settings(config)
    from connector.gaiax import label as labels
    from connector.gaiax import store
    from connector.gaiax.jose import peek

    db = _db(settings)
    try:
        stored = store.load(db)
    finally:
        db.dispose()
    found = [c for c in stored if c.kind == "label"]
    if not found:
        console.print("[red]no label is stored[/red]: run `connector gaiax onboard`")
        raise typer.Exit(1)
    payload = peek(found[-1].jwt)[1]
    print(json.dumps({"id": payload["id"], "issuer": payload["issuer"], "validUntil": payload.get("validUntil"),
                      "credentialSubject": payload["credentialSubject"]}, indent=2))
    if bundle is not None:
        covered = [c.jwt for c in stored if c.kind in ("legal-person", "issuer", "registration")]
        bundle.write_text(labels.bundle(found[-1].jwt, covered))
        console.print(f"wrote {bundle}")


@app.command()
def offerings(config: Path = CONFIG,
              terms_url: str = typer.Option(..., "--terms-url", help="where the terms of our offerings are"),
              terms_hash: str = typer.Option(..., "--terms-hash", help="SHA-256 (hex) of that document")) -> None:
    """ServiceOffering (the connector) and one DataProduct per asset, shape-checked, signed and stored."""
    settings = _settings(config)
    from connector.gaiax.service import offering_credentials

    made = _with_db(settings, lambda db: offering_credentials(settings, db, datetime.now(UTC), terms_url, terms_hash),
                    "{step}:[/red] {reason}")
    console.print(f"stored 1 ServiceOffering and {len(made) - 1} DataProduct credentials")


@app.command("verify-label")
def verify_label(config: Path = CONFIG,
                 bundle: Path = typer.Argument(..., help="the partner's label bundle (connector gaiax label --bundle)"),
                 peer: str = typer.Option(..., "--peer", help="the partner's DID (who presents the label)"),
                 store: bool = typer.Option(False, "--store", help="add the claims to the peer (connector peer add)")) -> None:
    """Verify a partner's label and print the claims a policy sees (GaiaxLabelLevel)."""
    settings = _settings(config)
    from connector.gaiax.clients import GaiaxServiceError
    from connector.gaiax.label import LabelRefused, read_bundle, registry_chain_check
    from connector.gaiax.label import verify_label as verify
    from connector.gaiax.service import client_for, resolver_for, shapes_for

    client = client_for(settings)
    try:
        label_jwt, credentials = read_bundle(bundle.read_text())
        trusted = sorted(set(settings.gaiax.trusted_label_issuers) | set(client.trusted_issuers()))  # type: ignore[union-attr]
        verified = verify(label_jwt, credentials, peer, resolver_for(settings), trusted, datetime.now(UTC),
                          digest=settings.gaiax.digest, shapes=shapes_for(settings),  # type: ignore[union-attr]
                          chain_check=registry_chain_check(client))
    except GaiaxServiceError as exc:
        console.print(f"[red]the Registry could not be asked:[/red] {exc}")
        raise typer.Exit(1) from None
    except LabelRefused as exc:
        console.print(f"[red]label refused:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        client.close()
    print(json.dumps(verified.claims(), indent=2))
    if store:
        from connector.gaiax.service import store_peer_claims

        _with_db(settings, lambda db: store_peer_claims(db, peer, verified.claims()), "not stored:[/red] {reason}")
        console.print(f"the claims are now part of peer {peer}")


@app.command()
def mock(port: int = typer.Option(8890, "--port"), host: str = typer.Option("127.0.0.1", "--host"),
         ca_dir: Path = typer.Option(Path("var/gaiax-mock-ca"), "--ca-dir", help="the mock trust anchor's folder")) -> None:
    """Run the local mock GXDCH (notary, compliance, registry) with its mock trust anchor."""
    import uvicorn

    from connector.gaiax.mock import create_mock_app

    base = f"http://localhost:{port}"
    app_, gxdch = create_mock_app(base, ca_dir)
    console.print(f"mock GXDCH at {base}: notary {base}/notary/v2, compliance {base}/compliance/v2, "
                  f"registry {base}/registry/v2; trust anchor in {ca_dir}")
    uvicorn.run(app_, host=host, port=port, log_level="warning")
    sys.exit(0)
