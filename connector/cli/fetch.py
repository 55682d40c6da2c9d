"""``connector fetch``: get one of a peer's datasets through the local connector, start to finish.

    connector fetch --peer PEER_ID_OR_DSP_URL --asset ASSET_ID [--out FILE] [--config FILE]

It drives the local connector's management API (URL and API key from the config) the way staff
or tractusx-sdk would: catalog (``/v3/catalog/request``, the asset's first offer) → negotiate and
transfer in one call (``/v3/edrs``) → wait for FINALIZED and for the pull transfer to be STARTED
→ the EDR (``/v3/edrs/{tp}/dataaddress?auto_refresh=true``) → GET the provider's data plane with
the EDR's token, streamed to ``--out`` or stdout (a rich progress bar on stderr for bodies over
1 MiB) → complete the transfer, which revokes the token. Any failure exits non-zero with the
reason: the negotiation's or transfer's ``errorDetail``, or the data plane's own answer.

``--peer`` is a configured peer's participant id (its ``dsp_url`` is used) or a DSP URL (the
provider's id is then taken from its catalog).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import httpx
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

from connector.cli.output import Console
from connector.config import MANAGEMENT_PATH, ConfigError, Settings, load_settings

EDC = "https://w3id.org/edc/v0.0.1/ns/"
PROTOCOL = "dataspace-protocol-http:2025-1"
CONTEXT = ["https://w3id.org/catenax/2025/9/policy/context.jsonld", "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
           {"@vocab": EDC}]
PROGRESS_FROM = 1 << 20  # bytes: smaller bodies need no bar
console = Console(stderr=True, soft_wrap=True)  # reasons stay on one line, for people and grep


class FetchError(Exception):
    """A step that failed, with the reason to show."""


def management_url(settings: Settings) -> str:
    host = settings.server.host if settings.server.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{host}:{settings.server.port}{MANAGEMENT_PATH}"


def management_client(settings: Settings, timeout: float = 60.0, api_key: str | None = None,
                      base_url: str | None = None) -> httpx.Client:
    """The operator's client for its own connector's management API (the CLI's one door to it)."""
    return httpx.Client(base_url=base_url or management_url(settings),
                        headers={"X-Api-Key": api_key or settings.api_key},
                        timeout=httpx.Timeout(timeout, connect=10.0))


def resolve_peer(settings: Settings, peer: str, stored: list[dict] | None = None) -> tuple[str | None, str]:
    """(participant id or None, DSP URL) for ``--peer``: a DSP URL, or the id of a peer in the config's
    [[peers]] or in ``stored`` (the running connector's ``/v3/peers``: ``{"id", "dspUrl"}``)."""
    known_peers = [(p.id, p.dsp_url) for p in settings.peers]
    known_peers += [(str(p["id"]), p.get("dspUrl")) for p in stored or [] if isinstance(p, dict) and p.get("id")]
    if peer.startswith(("http://", "https://")):
        match = next((pid for pid, url in known_peers if url and url.rstrip("/") == peer.rstrip("/")), None)
        return match, peer
    known = next(((pid, url) for pid, url in known_peers if pid == peer), None)
    if known is None:
        raise FetchError(f"--peer {peer!r} is not a known peer of {settings.participant_id}; pass its DSP URL "
                         f"instead, or add it: connector peer add {peer} --config CONFIG")
    if not known[1]:
        raise FetchError(f"peer {peer!r} has no dsp_url; pass its DSP URL as --peer, or add it again with "
                         "--dsp-url")
    return known[0], known[1]


def _stored_peers(client: httpx.Client) -> list[dict]:
    """The running connector's peers (config and added ones); [] if it cannot say (an older one)."""
    try:
        response = client.get("/v3/peers")
    except httpx.HTTPError:
        return []
    body = response.json() if response.is_success else []
    return body if isinstance(body, list) else []


def _one(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _get(node: dict, key: str) -> Any:
    for name in (key, f"dcat:{key}", f"odrl:{key}", f"dspace:{key}", EDC + key):
        if name in node:
            return node[name]
    return None


def _reasons(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or f"HTTP {response.status_code}"
    if isinstance(body, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in body)
    if isinstance(body, dict):
        return str(body.get("reason") or body.get("message") or body.get("error") or body)[:500]
    return str(body)[:300]


class Fetcher:
    """The steps, each one management call (or a poll of one); ``say`` narrates on stderr."""

    def __init__(self, client: httpx.Client, say: Callable[[str], None], timeout: float = 60.0) -> None:
        self.client = client
        self.say = say
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict | None = None, what: str = "") -> Any:
        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise FetchError(f"{what or path}: the local connector at {self.client.base_url} did not answer "
                             f"({type(exc).__name__}: {exc}); is it running?") from exc
        if not response.is_success:
            raise FetchError(f"{what or path}: HTTP {response.status_code}: {_reasons(response)}")
        return response.json() if response.content else None

    def offer(self, dsp_url: str, peer_id: str | None, asset: str) -> tuple[dict, str]:
        """The asset's first offer in the peer's catalog, and the provider's participant id."""
        request = {"@context": {"@vocab": EDC}, "@type": "CatalogRequest", "counterPartyAddress": dsp_url,
                   "protocol": PROTOCOL, "querySpec": {"filterExpression": [
                       {"operandLeft": EDC + "id", "operator": "=", "operandRight": asset}]}}
        if peer_id:
            request["counterPartyId"] = peer_id
        catalog = self.call("POST", "/v3/catalog/request", request, "catalog")
        datasets = _get(catalog, "dataset") or []
        dataset = next((d for d in (datasets if isinstance(datasets, list) else [datasets]) if d.get("@id") == asset),
                       None)
        if dataset is None:
            others = "no dataset at all" if not datasets else f"{len(datasets)} other dataset(s)"
            raise FetchError(f"catalog: {dsp_url} offers no dataset {asset!r} to us ({others}): it may not exist, "
                             "or its access policy hides it from us. The provider's admin sees why with "
                             "`connector policy explain --policy ACCESS_POLICY_ID --as OUR_ID`; in static-token "
                             "mode our claims (BPN, framework agreements) come from our entry in the provider's "
                             "peers (claims = {...} under [[peers]], or `connector peer add ... --claims`)")
        offer = _one(_get(dataset, "hasPolicy"))
        provider = peer_id or _get(catalog, "participantId")
        if not isinstance(offer, dict) or not provider:
            raise FetchError(f"catalog: the dataset {asset!r} carries no offer (or the catalog no participantId)")
        return offer, provider

    def negotiate(self, dsp_url: str, provider: str, asset: str, offer: dict) -> str:
        request = {"@context": CONTEXT, "@type": "ContractRequest", "counterPartyAddress": dsp_url,
                   "counterPartyId": provider, "protocol": PROTOCOL, "transferType": "HttpData-PULL",
                   "policy": {**offer, "@type": "Offer", "assigner": provider, "target": asset}}
        return self.call("POST", "/v3/edrs", request, "negotiation")["@id"]

    def _poll(self, what: str, read: Callable[[], dict | None], done: Callable[[dict], bool]) -> dict:
        deadline = time.monotonic() + self.timeout
        last: dict | None = None
        while time.monotonic() < deadline:
            last = read()
            if last is not None and done(last):
                return last
            time.sleep(0.2)
        state = last.get("state") if last else "not started"
        raise FetchError(f"{what}: still {state} after {self.timeout:g} s")

    def agreement(self, negotiation_id: str) -> str:
        neg = self._poll("negotiation", lambda: self.call("GET", f"/v3/contractnegotiations/{negotiation_id}"),
                         lambda n: n.get("state") in ("FINALIZED", "TERMINATED"))
        if neg["state"] != "FINALIZED":
            raise FetchError(f"negotiation {negotiation_id} was TERMINATED: {neg.get('errorDetail') or 'no reason given'}")
        return neg["contractAgreementId"]

    def transfer(self, agreement_id: str) -> str:
        query = {"@context": {"@vocab": EDC}, "@type": "QuerySpec", "filterExpression": [
            {"operandLeft": "contractAgreementId", "operator": "=", "operandRight": agreement_id}]}

        def read() -> dict | None:
            found = self.call("POST", "/v3/transferprocesses/request", query, "transfer")
            return found[-1] if found else None

        tp = self._poll("transfer", read, lambda t: t.get("state") in ("STARTED", "COMPLETED", "TERMINATED"))
        if tp["state"] != "STARTED":
            raise FetchError(f"transfer {tp['@id']} is {tp['state']}: {tp.get('errorDetail') or 'no reason given'}")
        return tp["@id"]

    def edr(self, transfer_id: str) -> tuple[str, str]:
        address = self.call("GET", f"/v3/edrs/{transfer_id}/dataaddress?auto_refresh=true", what="EDR")
        if not address.get("endpoint") or not address.get("authorization"):
            raise FetchError(f"EDR: the data address of transfer {transfer_id} has no endpoint or token: {address}")
        return address["endpoint"], address["authorization"]

    def download(self, endpoint: str, token: str, out: IO[bytes], progress: bool) -> int:
        received = 0
        try:
            with self.client.stream("GET", endpoint, headers={"Authorization": token}) as response:
                if not response.is_success:
                    response.read()
                    raise FetchError(f"data plane {endpoint}: HTTP {response.status_code}: {_reasons(response)}")
                total = int(response.headers["content-length"]) if response.headers.get("content-length", "").isdigit() else None
                with ExitStack() as stack:
                    bar = task = None
                    if progress and (total is None or total >= PROGRESS_FROM):
                        bar = stack.enter_context(Progress(
                            "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                            TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=True))
                        task = bar.add_task("downloading", total=total)
                    for chunk in response.iter_bytes(1 << 16):
                        out.write(chunk)
                        received += len(chunk)
                        if bar is not None and task is not None:
                            bar.update(task, advance=len(chunk))
                if total is not None and received != total:
                    raise FetchError(f"data plane {endpoint}: the body ended after {received} of {total} bytes")
        except httpx.HTTPError as exc:
            raise FetchError(f"data plane {endpoint}: the body broke off after {received} bytes "
                             f"({type(exc).__name__}: {exc})") from exc
        return received


def run_fetch(settings: Settings, peer: str, asset: str, out: Path | None, *, base_url: str | None = None,
              api_key: str | None = None, timeout: float = 60.0, keep: bool = False) -> int:
    """The whole fetch; returns the number of bytes written. Raises FetchError with the reason."""
    def say(text: str) -> None:
        console.print(f"[dim]{text}[/dim]")
    with management_client(settings, timeout, api_key, base_url) as client:
        peer_id, dsp_url = resolve_peer(settings, peer, [] if peer.startswith("http") else _stored_peers(client))
        fetcher = Fetcher(client, say, timeout)
        offer, provider = fetcher.offer(dsp_url, peer_id, asset)
        say(f"offer {offer.get('@id')} from {provider}")
        negotiation = fetcher.negotiate(dsp_url, provider, asset, offer)
        say(f"negotiating {negotiation}")
        agreement = fetcher.agreement(negotiation)
        say(f"agreement {agreement}")
        transfer = fetcher.transfer(agreement)
        say(f"transfer {transfer} started")
        endpoint, token = fetcher.edr(transfer)
        target = out.open("wb") if out else sys.stdout.buffer
        try:
            written = fetcher.download(endpoint, token, target, progress=True)
        finally:
            if out:
                target.close()
        if not keep:
            try:  # a one-shot pull is done: completing it revokes the token at the provider
                fetcher.call("POST", f"/v3/transferprocesses/{transfer}/complete", what="completing the transfer")
            except FetchError as exc:
                say(f"the transfer was not completed: {exc}")
        return written


def fetch(
    peer: str = typer.Option(..., "--peer", help="the provider: a configured peer's participant id, or its DSP URL"),
    asset: str = typer.Option(..., "--asset", help="the dataset (asset) id in the provider's catalog"),
    out: Path = typer.Option(None, "--out", "-o", help="write the data here (default: stdout)"),
    config: Path = typer.Option(Path("connector.toml"), "--config", "-c", envvar="PONTIS_CONFIG",
                                help="the local connector's config (management URL and API key)"),
    management: str = typer.Option(None, "--management-url", help="override the management base URL from the config"),
    timeout: float = typer.Option(60.0, "--timeout", help="seconds to wait for each step"),
    keep: bool = typer.Option(False, "--keep-transfer", help="leave the pull transfer STARTED afterwards"),
) -> None:
    """Catalog → negotiate → transfer → download one dataset from a peer, through the local connector."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        console.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from exc
    try:
        written = run_fetch(settings, peer, asset, out, base_url=management, timeout=timeout, keep=keep)
    except FetchError as exc:
        console.print(f"[red]fetch failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"[green]fetched[/green] {asset}: {written} bytes" + (f" → {out}" if out else ""))
    if out is not None and not check_signature(settings, out):
        raise typer.Exit(1)


def check_signature(settings: Settings, path: Path) -> bool:
    """Verify a received JSON document's Data Integrity proof and say so; False only if it fails.

    The file is kept as received either way, proof included, so it can be shown to others later.
    """
    from connector.identity.did import DidResolver
    from connector.services.documents import verify_received

    if path.stat().st_size > 64 << 20:
        return True  # bulk files are not JSON documents to verify
    try:
        document = json.loads(path.read_bytes())
    except ValueError:
        return True
    from connector.services.ssrf import OutgoingGuard
    from connector.services.transport import DocumentFetch

    resolver = DidResolver(allow_insecure_localhost=settings.identity.allow_insecure_did_web,
                           fetch=DocumentFetch(OutgoingGuard.from_settings(settings)))
    try:
        result = verify_received(document, resolver.resolve_key, None)
    except Exception as exc:  # an unreachable DID document is a failed check, said plainly
        console.print(f"[red]signature not verified:[/red] {exc}")
        return False
    if result is None:
        console.print("[yellow]unsigned:[/yellow] the document carries no Data Integrity proof")
        return True
    if not result.ok:
        console.print(f"[red]signature INVALID:[/red] {result.reason}")
        return False
    signers = sorted({str(p.proof.get("verificationMethod", "")) for p in result.proofs})
    console.print(f"[green]signature verified[/green]: signed by {', '.join(signers)}")
    return True


def register(app: typer.Typer) -> None:
    app.command("fetch")(fetch)
