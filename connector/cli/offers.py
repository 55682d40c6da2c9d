"""``connector offer verify``: check a saved provider-signed offer offline.

The file is what ``GET /management/v3/contractagreements/{id}/offer`` exports (``{signedOffer,
didDocuments}``) or a bare signed offer with ``--did-doc``; nothing is fetched.
"""

from __future__ import annotations

from pathlib import Path

import typer

from connector.cli.identity import _did_documents, _failed, _loader, _read_json, _usage, out

offer_app = typer.Typer(no_args_is_help=True, help="Provider-signed catalog offers.")


@offer_app.command("verify")
def offer_verify(
    file: Path = typer.Argument(..., help="a signed offer, or an export bundle {signedOffer, didDocuments}"),
    did_doc: list[Path] | None = typer.Option(None, "--did-doc", help="the provider's DID document"),
    context: list[str] | None = typer.Option(None, "--context", help="URL=FILE: a context to accept"),
) -> None:
    """Check a signed offer offline: its proof verifies and is the provider's (its assigner's)."""
    from connector.identity.did import DidResolver
    from connector.identity.wallet import verify_signed

    data = _read_json(file, "offer")
    documents = _did_documents(did_doc)
    if isinstance(data, dict) and "signedOffer" in data:
        bundled = data.get("didDocuments") or []
        documents += [d for d in bundled if isinstance(d, dict) and isinstance(d.get("id"), str)]
        data = data["signedOffer"]
    if not isinstance(data, dict) or not isinstance(data.get("assigner"), str):
        raise _usage(f"{file} holds no signed offer (a JSON object naming its assigner, the provider)")
    provider = data["assigner"]
    result = verify_signed(data, DidResolver(documents=documents, offline=True).resolve_key, signer=provider,
                           loader=_loader(context))
    if not result.ok:
        raise _failed(result.reason or "invalid")
    created = ", ".join(str(p.proof.get("created")) for p in result.proofs)
    out.print(f"ok: offer {data.get('@id', '')} verifies offline")
    out.print(f"  signed by the provider {provider} ({created}), for {data.get('target')}")


def register(app: typer.Typer) -> None:
    app.add_typer(offer_app, name="offer")
