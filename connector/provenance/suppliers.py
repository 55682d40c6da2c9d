"""Asking one company for a twin and its submodels: a supplier over DSP, or our own parts.

``RemoteSupplier`` does what IRS does per node, under the supplier's policy: its catalog (read
once per job), each Digital Twin Registry it offers (found by dct:type; negotiated once, or an EDR
we hold reused), the registry lookup by globalAssetId, then, per aspect, the submodel asset the
descriptor's ``subprotocolBody`` names (``id=<asset>;dspEndpoint=<DSP URL>``, negotiated once per
aspect) and the submodel itself, its signature checked against the supplier's DID. What Factory-X
ADR 008/009 require of the provider is checked on the way (connector.factoryx.discovery): each
fault is a refusal naming what is wrong. A submodel that comes as an IDTA Submodel (always, in our
``factory-x`` profile) passes connector.factoryx.submodel_check and is read as its value. Only connectors the
directory lists for that BPN are called, and a submodel ``href`` must lie under the EDR's own
endpoint: a registry cannot steer us anywhere else. Every call has a timeout and a size cap.

``LocalSupplier`` answers for our own BPN from our own registry tables (no negotiation with
ourselves); its data needs no signature check (``own``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from anyio import to_thread

from connector.factoryx import discovery
from connector.factoryx.submodel_check import SubmodelSchemaError, check_submodel, value_only
from connector.parts.registry import OWNER, b64url
from connector.provenance.contracts import Contracts, Edr, Refused, offer_of
from connector.provenance.directory import Endpoint
from connector.services.remote_catalog import CounterPartyError, RemoteCatalog, dataset_record
from connector.store.models import TwinSubmodel

REGISTRY_TYPE, DCT_TYPE = discovery.REGISTRY_TYPE, discovery.DCT_TYPE
SEMANTIC_ID = "https://admin-shell.io/aas/3/0/HasSemantics/semanticId"
LARGE = 256 << 10  # bytes of JSON parsed in a worker thread rather than on the event loop


@dataclass(frozen=True, slots=True)
class Fetched:
    payload: Any
    agreement_id: str | None
    signature: str  # verified | unsigned | invalid | own
    signer: str | None = None
    detail: str | None = None


def endpoint_of(descriptor: dict) -> tuple[str, str, str]:
    """(href, asset id, DSP URL) of a submodel descriptor's DSP endpoint (connector.factoryx.discovery:
    subprotocol DSP, a strict ``id=...;dspEndpoint=...``); Refused naming the descriptor otherwise."""
    try:
        found = discovery.dsp_endpoint(descriptor)
    except discovery.DiscoveryError as exc:
        raise Refused(exc.step, str(exc)) from None
    return found.href, found.target.dataset_id, found.target.dsp_endpoint


def _semantic_id(dataset: dict) -> str | None:
    value = dataset_record(dataset).get(SEMANTIC_ID)
    value = value.get("@id") if isinstance(value, dict) else value
    return value if isinstance(value, str) else None


is_registry = discovery.is_registry


class RemoteSupplier:
    def __init__(self, bpn: str, endpoints: list[Endpoint], services: Any, contracts: Contracts, *,
                 own_bpn: str | None, timeout: float, max_bytes: int, resolve_key: Any,
                 prefetch: Callable[[str], bool] = lambda urn: False) -> None:
        self.bpn, self.endpoints, self.services, self.contracts = bpn, endpoints, services, contracts
        self.own_bpn, self.timeout, self.max_bytes, self.resolve_key = own_bpn or "us", timeout, max_bytes, resolve_key
        self.prefetch = prefetch
        # [profile] dataspace factory-x: GetSubmodel answers a Submodel (ADR 008); anything else is refused
        settings = getattr(services, "settings", None)
        self.strict_submodels = getattr(getattr(settings, "profile", None), "dataspace", None) == "factory-x"
        self.http: httpx.AsyncClient = services.client.client
        self._catalogs: dict[str, Any] = {}
        self._edrs: dict[tuple[str, str], Edr | Refused] = {}  # a refusal is kept too: asked once per job
        self._locks: dict[Any, asyncio.Lock] = {}
        self._early: set[asyncio.Task] = set()

    def _lock(self, key: Any) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # --- catalog and EDRs, each once per job ---------------------------------------------------------

    async def _catalog(self, endpoint: Endpoint) -> list[dict]:
        async with self._lock(("catalog", endpoint.dsp_url)):
            if endpoint.dsp_url not in self._catalogs:
                remote = RemoteCatalog(self.services.client, self.services.authenticator)
                try:
                    async with asyncio.timeout(self.timeout):
                        try:
                            catalog = await remote.catalog(endpoint.dsp_url, endpoint.participant_id)
                        except CounterPartyError as exc:
                            if exc.code != "counterparty.unreachable":
                                raise
                            # a kept-alive connection the peer closed meanwhile: a catalog request is asked again, once
                            catalog = await remote.catalog(endpoint.dsp_url, endpoint.participant_id)
                except TimeoutError:
                    raise Refused("DigitalTwinRequest", f"the catalog of {self.bpn} at {endpoint.dsp_url} did not "
                                  f"answer within {self.timeout:g} s", endpoint=endpoint.dsp_url) from None
                except CounterPartyError as exc:
                    raise Refused("DigitalTwinRequest", f"the catalog of {self.bpn} could not be read: "
                                  + "; ".join(exc.reasons), endpoint=endpoint.dsp_url) from None
                found = catalog.get("dataset", catalog.get("dcat:dataset", []))
                datasets = [d for d in (found if isinstance(found, list) else [found]) if isinstance(d, dict)]
                self._catalogs[endpoint.dsp_url] = datasets
                self._negotiate_early(endpoint, datasets)
            return self._catalogs[endpoint.dsp_url]

    def _negotiate_early(self, endpoint: Endpoint, datasets: list[dict]) -> None:
        """Start negotiating the registry and the aspects we will want at once, side by side: every
        twin of this supplier needs them, and one after the other they would double the wait."""
        for dataset in datasets:
            urn = _semantic_id(dataset)
            if is_registry(dataset) or (urn and self.prefetch(urn)):
                what = _registry(dataset) if is_registry(dataset) else f"the {(urn or '').rsplit('#', 1)[-1]} asset"
                task = asyncio.create_task(self._edr_quietly(endpoint, str(dataset.get("@id")), what))
                self._early.add(task)
                task.add_done_callback(self._early.discard)

    async def _edr_quietly(self, endpoint: Endpoint, asset_id: str, what: str) -> None:
        try:
            await self._edr(endpoint, asset_id, what)
        except Refused:
            pass  # kept; said by the node that needs it

    def cancel(self) -> None:
        for task in list(self._early):
            task.cancel()

    async def _registries(self, endpoint: Endpoint) -> list[str]:
        """The ids of the Digital Twin Registries ``endpoint`` offers us (ADR 009: found by dct:type)."""
        try:
            return [str(d.get("@id")) for d in discovery.registries(await self._catalog(endpoint), endpoint.dsp_url)]
        except discovery.RegistryNotOffered as exc:  # a catalog shows us only what its access policies let us see
            raise Refused("UsagePolicyValidation", f"no offer of the Digital Twin Registry visible to {self.own_bpn} at "
                          f"{self.bpn} ({endpoint.dsp_url}): its access policy hides it from us, or there is none "
                          f"({exc})", endpoint=endpoint.dsp_url) from None

    async def _edr(self, endpoint: Endpoint, asset_id: str, what: str, *, fresh: bool = False) -> Edr:
        """An EDR for ``asset_id`` at ``endpoint``, negotiated once per job (a refusal is kept too)."""
        key = (endpoint.dsp_url, asset_id)
        datasets = await self._catalog(endpoint)
        async with self._lock(key):
            held = self._edrs.get(key)
            if isinstance(held, Refused):
                raise held
            if held is not None and not (fresh and held.reused):
                return held
            try:
                edr = await self._new_edr(endpoint, datasets, asset_id, what, fresh)
            except Refused as refusal:
                self._edrs[key] = refusal
                raise
            self._edrs[key] = edr
            return edr

    async def _new_edr(self, endpoint: Endpoint, datasets: list[dict], asset_id: str, what: str,
                       fresh: bool) -> Edr:
        dataset = next((d for d in datasets if d.get("@id") == asset_id), None)
        if not fresh and dataset is not None:
            cached = await self.contracts.cached(endpoint.participant_id, str(dataset.get("@id")))
            if cached is not None:
                return cached
        offer = offer_of(dataset) if dataset is not None else None
        if dataset is None or offer is None:
            raise Refused("UsagePolicyValidation", f"no offer of {what} visible to {self.own_bpn} at {self.bpn} "
                          f"({endpoint.dsp_url}): its access policy hides it from us, or there is none",
                          endpoint=endpoint.dsp_url)
        return await self.contracts.negotiate(endpoint.dsp_url, endpoint.participant_id, str(dataset["@id"]),
                                              offer, self.bpn)

    # --- HTTP to the supplier's data plane ------------------------------------------------------------

    async def _get(self, url: str, edr: Edr, what: str, step: str) -> tuple[int, Any]:
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(self.timeout):
                    status, body = await self._read(url, edr, what, step)
                break
            except TimeoutError:
                raise Refused(step, f"{what}: {self.bpn} did not answer within {self.timeout:g} s",
                              endpoint=url) from None
            except httpx.HTTPError as exc:
                # a kept-alive connection the server closed meanwhile fails at once: a GET is asked again, once
                if attempt == 2 or not isinstance(exc, (httpx.ConnectTimeout, httpx.RemoteProtocolError)):
                    raise Refused(step, f"{what}: {self.bpn} could not be reached ({type(exc).__name__}: {exc})",
                                  endpoint=url) from None
        try:
            if len(body) > LARGE:  # parsing megabytes would stall every other job and request of ours
                return status, await to_thread.run_sync(json.loads, body)
            return status, json.loads(body) if body else None
        except ValueError:
            if 200 <= status < 300:
                raise Refused(step, f"{what}: {self.bpn} answered with something that is not JSON", endpoint=url) from None
            return status, body[:300].decode(errors="replace")

    async def _read(self, url: str, edr: Edr, what: str, step: str) -> tuple[int, bytearray]:
        async with self.http.stream("GET", url, headers={"Authorization": edr.token,
                                                         "Accept": "application/json"}) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > self.max_bytes:
                    raise Refused(step, f"{what}: the answer of {self.bpn} exceeds {self.max_bytes} bytes; "
                                        "not read further", endpoint=url)
            return response.status_code, body

    async def _call(self, endpoint: Endpoint, asset_id: str, what: str, step: str, url_of) -> tuple[Any, Edr]:
        """GET through an EDR; a reused EDR the provider no longer honours is replaced once."""
        edr = await self._edr(endpoint, asset_id, what)
        status, body = await self._get(url_of(edr), edr, what, step)
        pause = 0.02
        while _not_started_yet(status, body) and pause < 1.5:
            # the provider marks its transfer STARTED only once we have acknowledged its start message,
            # which can be a moment after our side holds the EDR: ask again shortly
            await asyncio.sleep(pause)
            pause *= 2
            status, body = await self._get(url_of(edr), edr, what, step)
        if status in (401, 403) and edr.reused:
            edr = await self._edr(endpoint, asset_id, what, fresh=True)
            status, body = await self._get(url_of(edr), edr, what, step)
        if status == 404:
            raise LookupError(_reason(body))
        if not 200 <= status < 300:
            raise Refused(step, f"{what}: {self.bpn} answered HTTP {status}: {_reason(body)}", endpoint=url_of(edr))
        return body, edr

    # --- what the traversal asks ---------------------------------------------------------------------

    async def shell(self, part: str) -> tuple[dict, str | None]:
        """The twin's shell descriptor from the first of the supplier's registries that has it: each of
        its connectors, each Digital Twin Registry a connector offers (ADR 009: one per organisational
        unit, say)."""
        misses: list[str] = []
        refusals: list[Refused] = []
        for endpoint in self.endpoints:
            try:
                offered = await self._registries(endpoint)
            except Refused as refusal:
                refusals.append(refusal)
                continue
            for registry in offered:
                try:
                    found = await self._shell_at(endpoint, registry, part)
                except LookupError as exc:
                    misses.append(f"{endpoint.dsp_url} ({registry}): {exc}")
                    continue
                except Refused as refusal:  # another registry of the supplier may still have it
                    refusals.append(refusal)
                    continue
                if found is not None:
                    return found
                misses.append(f"{endpoint.dsp_url} ({registry}): no twin")
        if refusals:  # something stood in the way: that is the reason, not "no twin"
            raise refusals[0]
        raise Refused("DigitalTwinRequest", f"{self.bpn}'s registry shows {self.own_bpn} no twin {part}: it is "
                      f"unknown there, or not visible to {self.own_bpn}", causes=misses)

    async def _shell_at(self, endpoint: Endpoint, registry: str, part: str) -> tuple[dict, str | None] | None:
        """The shell of ``part`` in one registry; None when its look-up finds none."""
        what = _registry({"@id": registry})
        query = b64url(json.dumps({"name": "globalAssetId", "value": part}, separators=(",", ":")))
        try:
            found, edr = await self._call(endpoint, registry, what, "DigitalTwinRequest",
                                          lambda e: f"{e.endpoint.rstrip('/')}/lookup/shells?assetIds={query}")
        except LookupError as exc:  # a look-up that matches nothing is a 200 with no result, not a 404
            edr = await self._edr(endpoint, registry, what)
            integration = discovery.lookup_not_served(edr.endpoint.rstrip("/"), 404, str(exc))
            raise Refused(integration.step, str(integration), endpoint=edr.endpoint) from None
        ids = found.get("result") if isinstance(found, dict) else None
        if not ids:
            return None
        shell, edr = await self._call(endpoint, registry, what, "DigitalTwinRequest",
                                      lambda e: f"{e.endpoint.rstrip('/')}/shell-descriptors/{b64url(str(ids[0]))}")
        if not isinstance(shell, dict):
            raise Refused("DigitalTwinRequest", f"the registry of {self.bpn} sent a shell that is not an object")
        try:
            discovery.check_descriptors(shell)
        except discovery.DescriptorInvalid as exc:
            raise Refused(exc.step, f"{exc}; sent by the registry of {self.bpn}", endpoint=edr.endpoint) from None
        return shell, edr.agreement_id

    async def submodel(self, part: str, descriptor: dict, urn: str) -> Fetched:
        href, asset_id, dsp_url = endpoint_of(descriptor)
        endpoint = next((e for e in self.endpoints if e.dsp_url.rstrip("/") == dsp_url.rstrip("/")), None)
        if endpoint is None:
            raise Refused("SubmodelRequest", f"the {urn} of {part} is served at {dsp_url}, which is not a connector "
                          f"of {self.bpn} in our directory; not followed", endpoint=dsp_url)

        def url_of(edr: Edr) -> str:
            if not href.startswith(edr.endpoint.rstrip("/") + "/"):
                raise Refused("SubmodelRequest", f"the {urn} of {part} points at {href}, outside the data plane "
                              f"{edr.endpoint} that its EDR opens; not followed", endpoint=href)
            return href

        try:
            document, edr = await self._call(endpoint, asset_id, f"the {urn.rsplit('#', 1)[-1]} of {part}",
                                             "SubmodelRequest", url_of)
        except LookupError as exc:
            raise Refused("SubmodelRequest", f"{self.bpn} has no {urn} of {part} for {self.own_bpn}: {exc}",
                          endpoint=href) from None
        if self.strict_submodels or (isinstance(document, dict) and "modelType" in document):
            # an IDTA-01002-3-0-3 Submodel (GetSubmodel, Factory-X ADR 008): checked, then read as its value
            try:
                document = value_only(check_submodel(document, f"the {urn} of {part} from {self.bpn}"))
            except SubmodelSchemaError as exc:
                raise Refused("SchemaValidation", f"schema violation: {exc}", endpoint=href) from None
            return Fetched(document, edr.agreement_id, "unsigned")
        return await self._verified(document, edr.agreement_id, endpoint.participant_id)

    async def _verified(self, document: Any, agreement: str | None, signer: str) -> Fetched:
        if not isinstance(document, dict) or "proof" not in document:
            return Fetched(document, agreement, "unsigned")
        from connector.services.documents import verify_received

        try:
            result = await to_thread.run_sync(verify_received, document, self.resolve_key, signer)
        except Exception as exc:  # an unreachable DID document is a failed check, said plainly
            return Fetched(document, agreement, "invalid", None, f"{type(exc).__name__}: {exc}")
        if result is None or not result.ok:
            return Fetched(document, agreement, "invalid", None, result.reason if result else "no proof")
        signers = sorted({str(p.proof.get("verificationMethod", "")) for p in result.proofs})
        return Fetched(document, agreement, "verified", ", ".join(signers))


def _registry(dataset: dict) -> str:
    return f"the Digital Twin Registry {dataset.get('@id')!r}"


def _not_started_yet(status: int, body: Any) -> bool:
    return status == 403 and isinstance(body, dict) and body.get("error") == "transfer_not_started" \
        and "is REQUESTED" in str(body.get("reason"))


def _reason(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("messages"), list):  # an AAS Result
        texts = [str(m.get("text")) for m in body["messages"] if isinstance(m, dict) and m.get("text")]
        if texts:
            return "; ".join(texts)
    if isinstance(body, dict):
        for key in ("reason", "message", "messages", "error_description", "error"):
            if body.get(key):
                value = body[key]
                return "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return str(body)[:300] if body else "no reason given"


class LocalSupplier:
    """Our own parts, read from our own registry with the owner's view: every twin, every submodel."""

    def __init__(self, bpn: str, registry: Any) -> None:
        self.bpn, self.registry = bpn, registry

    def _shell(self, part: str) -> dict | None:
        found = self.registry.lookup(OWNER, [{"name": "globalAssetId", "value": part}]).get("result") or []
        return self.registry.shell(OWNER, found[0]) if found else None

    async def shell(self, part: str) -> tuple[dict, str | None]:
        found = await to_thread.run_sync(self._shell, part)
        if found is None:
            raise Refused("DigitalTwinRequest", f"no twin {part} in our own registry ({self.bpn})")
        return found, None

    def _payload(self, descriptor: dict) -> Any:
        with self.registry.db.read() as session:
            row = session.get(TwinSubmodel, descriptor.get("id"))
        return row.payload if row is not None else None

    async def submodel(self, part: str, descriptor: dict, urn: str) -> Fetched:
        payload = await to_thread.run_sync(self._payload, descriptor)
        if payload is None:
            raise Refused("SubmodelRequest", f"our own {urn} of {part} is not stored here (an external backend)")
        return Fetched(payload, None, "own")


def local_twin_exists(registry: Any, part: str) -> bool:
    """For ``POST /irs/jobs``: is ``part`` one of our own twins? (an unknown part is a 404 at once)"""
    return bool(registry.lookup(OWNER, [{"name": "globalAssetId", "value": part}]).get("result"))
