"""``connector keys | issuer | sign | verify | agreement verify``: identity on the command line.

Exit codes: 0 success; 1 a signature, proof or agreement does not verify (the reason is printed
on stderr); 2 unusable input (unreadable file, bad JSON, bad option). Key files are read with
the passphrase in ``PONTIS_KEY_PASSPHRASE`` when they are encrypted.

``--context URL=FILE`` serves the JSON-LD context in FILE for URL, for contexts the connector does
not pin itself (it may not replace a pinned one). DID documents for did:web verification methods
come from ``--did-doc FILE`` (repeatable); ``connector verify`` fetches the others over HTTPS
unless ``--offline``; ``connector agreement verify`` never fetches: it also reads the
``didDocuments`` of an exported bundle and every ``*.did.json`` / ``did.json`` next to FILE.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer


class _Echo:
    """Plain output: no markup or emoji (a reason may hold "[...]" and "did:key:" would become a key glyph)."""

    def __init__(self, err: bool) -> None:
        self.err = err

    def print(self, message: str) -> None:
        typer.echo(message, err=self.err)


err, out = _Echo(err=True), _Echo(err=False)

keys_app = typer.Typer(no_args_is_help=True, help="Ed25519 key files.")
issuer_app = typer.Typer(no_args_is_help=True, help="Run the credential issuer of a (test) data space.")
agreement_app = typer.Typer(no_args_is_help=True, help="Signed contract agreements.")


def register(app: typer.Typer) -> None:
    """Add the identity commands to the ``connector`` CLI."""
    app.add_typer(keys_app, name="keys")
    app.add_typer(issuer_app, name="issuer")
    app.add_typer(agreement_app, name="agreement")
    app.command("sign")(sign_command)
    app.command("verify")(verify_command)


def _usage(message: str) -> typer.Exit:
    err.print(f"error: {message}")
    return typer.Exit(2)


def _failed(message: str) -> typer.Exit:
    err.print(f"verification failed: {message}")
    return typer.Exit(1)


def _read_json(path: Path, what: str = "file") -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _usage(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise _usage(f"{what} {path} is not JSON: {exc}") from None


def _passphrase() -> str | None:
    from connector.identity.wallet import passphrase_from_env

    return passphrase_from_env()


def _loader(contexts: list[str] | None):
    from connector.identity.contexts import SigningContextLoader, default_loader

    if not contexts:
        return default_loader()
    extra = {}
    for item in contexts:
        url, sep, file = item.partition("=")
        if not sep or "://" not in url or not file:
            raise _usage(f"--context expects URL=FILE, not {item!r}")
        document = _read_json(Path(file), "context file")
        extra[url] = document if isinstance(document, dict) and "@context" in document else {"@context": document}
    try:
        return SigningContextLoader(extra)
    except ValueError as exc:
        raise _usage(str(exc)) from None


def _did_documents(files: list[Path] | None) -> list[dict]:
    documents: list[dict] = []
    for file in files or []:
        data = _read_json(file, "DID document")
        items = data.get("didDocuments", []) if isinstance(data, dict) and "signedAgreement" in data else data
        for doc in items if isinstance(items, list) else [items]:
            if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
                raise _usage(f"{file} does not hold a DID document (a JSON object with an 'id')")
            documents.append(doc)
    return documents


def _emit(document: dict, target: Path | None) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if target is None:
        typer.echo(text, nl=False)
    else:
        target.write_text(text, encoding="utf-8")
        err.print(f"wrote {target}")


# --- connector init ------------------------------------------------------------------------------------

def init_identity(config: Path, participant_id: str, auth: str, *, force: bool = False) -> str:
    """For ``connector init``: write ``<config stem>.keys.json`` (0600) beside the config and return
    the config's ``[identity]`` section. The key's controller is the participant id when it is a
    DID (``<DID>#key-1``), a did:key otherwise."""
    from connector.config import AUTH_MODES
    from connector.identity.wallet import new_key_file

    if auth not in AUTH_MODES:
        import difflib

        near = difflib.get_close_matches(auth, AUTH_MODES, n=1, cutoff=0.3)
        raise _usage(f"--auth must be one of {', '.join(AUTH_MODES)}, not {auth!r}"
                     + (f" (did you mean {near[0]!r}?)" if near else ""))
    if auth.startswith("dcp") and not participant_id.startswith("did:web:"):
        raise _usage(f"--auth {auth} needs a did:web participant id (e.g. did:web:connector.example.com)")
    key_file = config.with_name(config.stem + ".keys.json")
    if key_file.exists() and not force:
        raise _usage(f"{key_file} exists; pass --force to replace the keys (their DID documents change)")
    keys = new_key_file(key_file, participant_id if participant_id.startswith("did:") else "did:key:",
                        passphrase=_passphrase())
    err.print(f"wrote {key_file} (key {keys.active.id}"
              + (", encrypted with $PONTIS_KEY_PASSPHRASE)" if _passphrase() else ", unencrypted)"))
    return "\n" + identity_section(auth, key_file.name, config.stem + ".credentials.json", [],
                                   insecure_localhost=participant_id.startswith("did:web:localhost"))


def identity_section(auth: str, key_file: str | Path, credentials_file: str | Path, trusted_issuers: list[str], *,
                     insecure_localhost: bool = False, issuer_dir: str | Path | None = None, **more: Any) -> str:
    """The ``[identity]`` table of a connector config (TOML), e.g. for the demo's dcp mode. It must
    come after the top-level keys; ``more`` adds settings such as ``status_list_cache_seconds``."""
    lines = ["[identity]",
             "# static-token: dev, tests and the TCK profile; dcp: DCP v1.0 (self-issued tokens, presentation",
             "# queries to the caller's Credential Service); dcp-embedded: the presentation inside the token",
             f"auth_mode = {json.dumps(auth)}",
             f"key_file = {json.dumps(str(key_file))}",
             f"credentials_file = {json.dumps(str(credentials_file))}",
             "# the DIDs of the credential issuers this connector trusts",
             f"trusted_issuers = {json.dumps(trusted_issuers)}"]
    if insecure_localhost:
        lines += ["# local development: resolve did:web:localhost over plain http", "allow_insecure_did_web = true"]
    if issuer_dir is not None:
        lines += ["# serve this issuer's DID document and status list", f"issuer_dir = {json.dumps(str(issuer_dir))}"]
    lines += [f"{name} = {json.dumps(value)}" for name, value in more.items()]
    return "\n".join(lines) + "\n"


# --- keys -------------------------------------------------------------------------------------------

@keys_app.command("new")
def keys_new(
    out_file: Path = typer.Option(..., "--out", help="the key file to write (mode 0600)"),
    controller: str | None = typer.Option(None, "--controller", help="the DID owning the key (default: a did:key)"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing file"),
) -> None:
    """Generate an Ed25519 key set, encrypted with $PONTIS_KEY_PASSPHRASE if it is set."""
    from connector.identity.wallet import new_key_file

    if out_file.exists() and not force:
        raise _usage(f"{out_file} exists; pass --force to overwrite it")
    keys = new_key_file(out_file, controller or "did:key:", passphrase=_passphrase())
    out.print(keys.active.id)


@keys_app.command("rotate")
def keys_rotate(key: Path = typer.Option(..., "--key", help="the key-set file to rotate")) -> None:
    """Make a fresh key the active one; the old one stays published for verifying what it signed."""
    from connector.identity import KeyFileError
    from connector.identity.wallet import load_keys

    try:
        keys = load_keys(key, _passphrase())
        old = keys.active.id
        new = keys.rotate()
        keys.save(key, _passphrase())
    except KeyFileError as exc:
        raise _usage(str(exc)) from None
    out.print(f"active key {new.id} (retired {old})")


# --- issuer -------------------------------------------------------------------------------------------

@issuer_app.command("init")
def issuer_init(
    directory: Path = typer.Option(Path("issuer"), "--dir", help="the issuer's folder"),
    did: str = typer.Option(..., "--did", help="the issuer's did:web, e.g. did:web:localhost%3A8181:issuer"),
    status_url: str | None = typer.Option(None, "--status-url", help="where its status list is published"),
    force: bool = typer.Option(False, "--force", help="replace an existing issuer"),
) -> None:
    """Create the issuer: its key set, DID document and (empty) revocation list."""
    from connector.identity.did import IdentityError
    from connector.identity.issuer import Issuer

    try:
        issuer = Issuer.init(directory, did, status_list_url=status_url, passphrase=_passphrase(), force=force)
    except IdentityError as exc:
        raise _usage(exc.reason) from None
    out.print(f"issuer {issuer.did} in {directory}; status list {issuer.status_list_url}")
    out.print(f"serve it with `connector issuer serve --dir {directory}` (DCP issuance, BPN-DID directory), or "
              f"its public files with a connector whose config has [identity] issuer_dir = \"{directory.resolve()}\"")


@issuer_app.command("issue")
def issuer_issue(
    subject: str = typer.Option(..., "--subject", help="the holder's DID"),
    kind: str = typer.Option(..., "--type", help="Membership, Bpn or DataExchangeGovernance"),
    bpn: str | None = typer.Option(None, "--bpn", help="the holder's BPNL (required for Bpn)"),
    contract_version: str = typer.Option("1.0", "--contract-version", help="DataExchangeGovernance version"),
    valid_days: int = typer.Option(365, "--valid-days"),
    directory: Path = typer.Option(Path("issuer"), "--dir", help="the issuer's folder"),
    wallet: Path | None = typer.Option(None, "--wallet", help="add it to this wallet file"),
    out_file: Path | None = typer.Option(None, "--out", help="write the wallet entry here (default: stdout)"),
    profile: str = typer.Option("vc20-bssl/jwt", "--profile",
                                help="the DCP profile: vc20-bssl/jwt, or vc11-sl2021/jwt (VC 1.1 JWT, Factory-X)"),
) -> None:
    """Issue a credential to a subject DID: as vc+jwt with an eddsa-rdfc-2022 proof (vc20-bssl/jwt), or
    as a VC 1.1 JWT (vc11-sl2021/jwt)."""
    from connector.identity.did import IdentityError
    from connector.identity.issuer import Issuer
    from connector.identity.keys import KeyFileError
    from connector.identity.wallet import Wallet

    try:
        issued = Issuer.load(directory, _passphrase()).issue(subject, kind, bpn=bpn, contract_version=contract_version,
                                                             valid_days=valid_days, profile=profile)
        if wallet is not None:
            held = Wallet.load(wallet)
            held.add(issued)
            held.save()
    except (IdentityError, KeyFileError) as exc:
        raise _usage(getattr(exc, "reason", str(exc))) from None
    err.print(f"issued {issued.credential['type'][-1]} {issued.credential['id']} to {subject}"
              + (f"; added to {wallet}" if wallet else ""))
    if wallet is None or out_file is not None:
        _emit(issued.to_json(), out_file)


@issuer_app.command("revoke")
def issuer_revoke(
    credential_id: str = typer.Option(..., "--id", help="the credential's id (urn:uuid:...)"),
    directory: Path = typer.Option(Path("issuer"), "--dir", help="the issuer's folder"),
) -> None:
    """Revoke a credential: its bit is set in the published status list."""
    from connector.identity.did import IdentityError
    from connector.identity.issuer import Issuer

    try:
        index = Issuer.load(directory, _passphrase()).revoke(credential_id)
    except IdentityError as exc:
        raise _usage(exc.reason) from None
    out.print(f"revoked {credential_id} (status-list index {index})")


# --- sign / verify ----------------------------------------------------------------------------------------

def sign_command(
    file: Path = typer.Argument(..., help="the JSON-LD document to sign"),
    cryptosuite: str = typer.Option("eddsa-rdfc-2022", "--cryptosuite", help="eddsa-rdfc-2022 or eddsa-jcs-2022"),
    key: Path | None = typer.Option(None, "--key", help="the key file (default: $PONTIS_KEY_FILE)"),
    context: list[str] | None = typer.Option(None, "--context", help="URL=FILE: a context to accept"),
    proof_purpose: str = typer.Option("assertionMethod", "--purpose"),
    inline: bool = typer.Option(False, "--allow-inline-contexts", help="accept inline @context objects"),
    out_file: Path | None = typer.Option(None, "--out", help="where to write (default: stdout)"),
) -> None:
    """Add a Data Integrity proof to a JSON-LD document (to its proof set, if it has one)."""
    from connector.identity import KeyFileError, SigningError
    from connector.identity.dataintegrity import sign
    from connector.identity.wallet import load_keys

    key = key or (Path(os.environ["PONTIS_KEY_FILE"]) if os.environ.get("PONTIS_KEY_FILE") else None)
    if key is None:
        raise _usage("no key: pass --key KEYFILE (or set PONTIS_KEY_FILE); `connector keys new` makes one")
    document = _read_json(file, "document")
    loader = _loader(context)
    try:
        signing_key = load_keys(key, _passphrase()).active
        signed = sign(document, signing_key, cryptosuite=cryptosuite, proof_purpose=proof_purpose, loader=loader,
                      allow_inline_contexts=inline)
    except KeyFileError as exc:
        raise _usage(str(exc)) from None
    except SigningError as exc:
        err.print(f"cannot sign: {exc.reason}")
        raise typer.Exit(1) from None
    _emit(signed, out_file)


def verify_command(
    file: Path = typer.Argument(..., help="a document with Data Integrity proof(s)"),
    did_doc: list[Path] | None = typer.Option(None, "--did-doc", help="a DID document for did:web methods"),
    context: list[str] | None = typer.Option(None, "--context", help="URL=FILE: a context to accept"),
    offline: bool = typer.Option(False, "--offline", help="never fetch a did:web document"),
    insecure_localhost: bool = typer.Option(False, "--allow-insecure-localhost",
                                            help="fetch did:web:localhost over plain http"),
    inline: bool = typer.Option(False, "--allow-inline-contexts", help="accept inline @context objects"),
) -> None:
    """Verify every proof of a document; the verification methods may be did:key or did:web."""
    from connector.identity.dataintegrity import verify
    from connector.identity.did import DidResolver

    document = _read_json(file, "document")
    resolver = DidResolver(documents=_did_documents(did_doc), offline=offline,
                           allow_insecure_localhost=insecure_localhost)
    result = verify(document, resolver.resolve_key, proof_purpose=None, loader=_loader(context),
                    allow_inline_contexts=inline)
    if not result.ok:
        raise _failed(result.reason or "invalid")
    for proof in result.proofs:
        p = proof.proof
        out.print(f"ok: {p.get('cryptosuite')} proof ({p.get('proofPurpose')}) by {p.get('verificationMethod')}"
                  + (f", created {p['created']}" if p.get("created") else ""))


@agreement_app.command("verify")
def agreement_verify(
    file: Path = typer.Argument(..., help="a signed agreement, or an export bundle {signedAgreement, didDocuments}"),
    did_doc: list[Path] | None = typer.Option(None, "--did-doc", help="a signer's DID document"),
    context: list[str] | None = typer.Option(None, "--context", help="URL=FILE: a context to accept"),
    require_consumer: bool = typer.Option(False, "--require-consumer",
                                          help="fail unless the consumer has counter-signed"),
) -> None:
    """Check a signed agreement offline: every proof verifies, by the provider (and the consumer)."""
    from connector.identity.did import DidResolver
    from connector.identity.wallet import verify_agreement

    data = _read_json(file, "agreement")
    documents = _did_documents(did_doc)
    if isinstance(data, dict) and "signedAgreement" in data:
        documents += _did_documents([file])
        data = data["signedAgreement"]
    adjacent = sorted(p for p in file.resolve().parent.glob("*.json")
                      if (p.name == "did.json" or p.name.endswith(".did.json")) and p != file.resolve())
    documents = _did_documents(adjacent) + documents  # explicit --did-doc and the bundle win
    check = verify_agreement(data, DidResolver(documents=documents, offline=True).resolve_key,
                             loader=_loader(context), require_consumer=require_consumer)
    if not check.ok:
        raise _failed(check.reason or "invalid")
    out.print(f"ok: agreement {data.get('@id', '')} verifies offline")
    out.print(f"  provider {check.provider}: signed")
    out.print(f"  consumer {check.consumer}: {'counter-signed' if check.consumer_signed else 'not counter-signed'}")
