"""The customer's side of PCF exchange: get a supplier's footprint through the data space.

``PcfClient.request(supplier, product)`` does it end to end, inside the connector:

1. the supplier (a BPN or participant id) must be a configured peer: its DSP URL comes from there;
2. its catalog (DSP) is asked; a dataset whose ``manufacturerPartId`` is the product is the
   synchronous pull (``pull``); the supplier's ``cx-taxo:PcfExchange`` dataset is the CX-0136
   asynchronous flow (``async``): ``GET /footprintExchange/{requestId}?manufacturerPartId=…``
   answered 202, then the supplier's ``PUT`` arrives at our own exchange asset
   (``services.pcf_exchange``) and is waited for. ``auto`` pulls when it can;
3. agreements and EDRs are reused (``edr_for``): an agreement we hold for that asset and a started
   transfer with its EDR (refreshed when due); otherwise a new negotiation (refused = ``denied``,
   with the provider's reason) and transfer;
4. every call to the supplier's data plane goes through the SSRF-guarded session (the admin's
   ``[dataplane] allowlist`` plus the hosts of configured peers);
5. the footprint must carry the supplier's valid Data Integrity proof and be a valid PCF; it is
   kept, proof and all (``received_footprint``).

The outcome's ``status`` is ok, missing (no footprint for the product is offered to us),
denied (a policy refused us) or error, always with a reason when not ok.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import aiohttp
from anyio import to_thread
from sqlmodel import col, select

from connector.config import Peer, Settings
from connector.identity.did import DidResolver
from connector.pcf.document import part_id
from connector.services.footprints import CX_TAXO, DCT_TYPE, PART_ID, SEMANTIC_ID
from connector.services.remote_catalog import CounterPartyError, RemoteCatalog
from connector.services.ssrf import Allowlist, OutgoingGuard, SsrfRefused, acheck_backend_url, guarded_session
from connector.services.supplier_access import Refused, SupplierAccess
from connector.store import Database
from connector.store.models import PcfExchangeRequest, ReceivedFootprint

if TYPE_CHECKING:
    from connector.identity.wallet import LocalIdentity
    from connector.services.edr_cache import ConsumerEdrs
    from connector.services.negotiation import NegotiationService
    from connector.services.transfer import TransferService

log = logging.getLogger("pontis.pcf")

EXCHANGE_TYPE = CX_TAXO + "PcfExchange"


@dataclass
class Outcome:
    status: str
    supplier: str
    product_id: str
    reason: str | None = None
    supplier_id: str | None = None
    supplier_bpn: str | None = None
    footprint: dict | None = None
    signer: str | None = None
    via: str | None = None
    agreement_id: str | None = None
    request_id: str | None = None

    def to_json(self) -> dict:
        return {"status": self.status, "supplier": self.supplier, "supplierId": self.supplier_id,
                "supplierBpn": self.supplier_bpn, "productId": self.product_id, "reason": self.reason,
                "via": self.via, "signer": self.signer, "agreementId": self.agreement_id,
                "requestId": self.request_id, "footprint": self.footprint}


def _prop(dataset: dict, iri: str, short: str) -> Any:
    for key in (iri, short, short.split(":")[-1]):
        if key in dataset:
            return dataset[key]
    return None


def is_exchange(dataset: dict) -> bool:
    kind = _prop(dataset, DCT_TYPE, "dct:type")
    kind = kind.get("@id") if isinstance(kind, dict) else kind
    return kind in (EXCHANGE_TYPE, "cx-taxo:PcfExchange")


def offers_product(dataset: dict, product: str) -> bool:
    """A dataset that is the PCF (aspect io.catenax.pcf) of the product."""
    value = _prop(dataset, PART_ID, "manufacturerPartId")
    aspect = _prop(dataset, SEMANTIC_ID, "aas-semantics:semanticId")
    aspect = aspect.get("@id") if isinstance(aspect, dict) else aspect
    return (isinstance(aspect, str) and aspect.startswith("urn:samm:io.catenax.pcf:") and isinstance(value, str)
            and part_id(value) == part_id(product))


class PcfClient:
    def __init__(self, settings: Settings, db: Database, catalog: RemoteCatalog, *, guard: OutgoingGuard,
                 identity: LocalIdentity | None, negotiations: NegotiationService, transfers: TransferService,
                 edr_cache: ConsumerEdrs) -> None:
        self.settings = settings
        self.db = db
        self.catalog = catalog
        self.guard = guard
        self.identity = identity
        self.clock = negotiations.clock
        hosts = [urlsplit(p.dsp_url).hostname for p in self.settings.peers if p.dsp_url]
        self.allowlist = Allowlist.parse([*self.settings.dataplane.allowlist, *[h for h in hosts if h]])
        self.access = SupplierAccess(db, negotiations.participant_id, transfers, edr_cache)
        self._session: aiohttp.ClientSession | None = None
        self.poll_seconds = 0.05
        # a peer's catalog, reused for a few seconds: a roll-up asks one supplier for many products
        self._catalogs: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self.catalog_seconds = 5.0
        self._resolver: DidResolver | None = None
        self._exchange_offered = False
        self._offering = asyncio.Lock()

    @property
    def resolver(self) -> DidResolver:
        """How suppliers' DIDs are resolved to check their signatures (cached DID documents)."""
        if self._resolver is None:
            from connector.services.transport import DocumentFetch

            self._resolver = self.identity.resolver if self.identity is not None else DidResolver(
                allow_insecure_localhost=self.settings.identity.allow_insecure_did_web,
                ttl_seconds=self.settings.identity.did_cache_seconds, fetch=DocumentFetch(self.guard))
        return self._resolver

    # --- the guarded session --------------------------------------------------------------------

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = guarded_session(self.allowlist)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(self, method: str, url: str, authorization: str, body: dict | None = None) -> tuple[int, Any]:
        """A call to a peer's data plane through the SSRF guard: (status, parsed JSON or text).

        A provider may hand out the EDR a moment before its own transfer reads STARTED (it commits
        that when we acknowledge its start message); such a refusal is retried for a few seconds."""
        deadline = time.monotonic() + 5
        while True:
            status, answer = await self._call_once(method, url, authorization, body)
            starting = status == 403 and isinstance(answer, dict) and answer.get("error") == "transfer_not_started"
            if not starting or time.monotonic() > deadline:
                return status, answer
            await asyncio.sleep(self.poll_seconds)

    async def _call_once(self, method: str, url: str, authorization: str, body: dict | None) -> tuple[int, Any]:
        try:
            await acheck_backend_url(url, self.allowlist)
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Authorization": authorization, "Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            async with self.session().request(method, url, data=data, headers=headers, allow_redirects=False,
                                              timeout=aiohttp.ClientTimeout(total=30)) as response:
                raw = await response.read()
                status = response.status
        except SsrfRefused as exc:
            raise Refused("error", f"the data plane address is refused by the SSRF guard: {exc.reason}") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise Refused("error", f"{url} could not be reached: {type(exc).__name__}: {exc}") from None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw[:300].decode("utf-8", "replace")

    # --- who the supplier is ------------------------------------------------------------------------

    def peer(self, supplier: str) -> Peer:
        for peer in self.settings.peers:
            if supplier in (peer.id, peer.bpn):
                if not peer.dsp_url:
                    raise Refused("error", f"peer {peer.id} has no dsp_url in the config")
                return peer
        known = ", ".join(f"{p.bpn or '?'} ({p.id})" for p in self.settings.peers) or "none"
        raise Refused("error", f"{supplier!r} is not a configured peer (by bpn or id); known peers: {known}")

    async def datasets(self, peer: Peer, *, fresh: bool = False) -> list[dict]:
        cached = self._catalogs.get(peer.id)
        if cached is not None and not fresh and time.monotonic() - cached[0] < self.catalog_seconds:
            return cached[1]
        try:
            catalog = await self.catalog.catalog(peer.dsp_url or "", peer.id)
        except CounterPartyError as exc:
            raise Refused("error", "; ".join(exc.reasons)) from None
        found = catalog.get("dataset", catalog.get("dcat:dataset", []))
        datasets = [d for d in (found if isinstance(found, list) else [found]) if isinstance(d, dict)]
        self._catalogs[peer.id] = (time.monotonic(), datasets)
        return datasets

    async def edr_for(self, peer: Peer, dataset: dict[str, Any], timeout: float) -> tuple[str, str, str]:
        """(endpoint, authorization, agreement id) for a dataset of ``peer``: reused when we hold them."""
        return await self.access.edr_for(peer, dataset, timeout)

    # --- the request ----------------------------------------------------------------------------------

    async def request(self, supplier: str, product: str, *, mode: str = "auto", timeout: float = 60) -> Outcome:
        outcome = Outcome("error", supplier, product)
        if not self._exchange_offered:  # a customer offers its exchange API too: answers and updates come there
            from connector.services.footprints import ensure_exchange_offer

            async with self._offering:  # a roll-up's concurrent first requests would write the offer twice
                if not self._exchange_offered:
                    await to_thread.run_sync(ensure_exchange_offer, self.db, self.clock())
                    self._exchange_offered = True
        try:
            peer = self.peer(supplier)
            outcome.supplier_id, outcome.supplier_bpn = peer.id, peer.bpn
            datasets = await self.datasets(peer)
            if not any(offers_product(d, product) for d in datasets):  # published since we last looked?
                datasets = await self.datasets(peer, fresh=True)
            direct = next((d for d in datasets if offers_product(d, product)), None)
            exchange = next((d for d in datasets if is_exchange(d)), None)
            if mode in ("auto", "pull") and direct is not None:
                endpoint, token, outcome.agreement_id = await self.edr_for(peer, direct, timeout)
                status, body = await self.call("GET", endpoint, token)
                if status != 200:
                    raise Refused("denied" if status in (401, 403) else "error",
                                  f"{peer.id}'s data plane answered HTTP {status}: {str(body)[:300]}")
                outcome.via = "pull"
                await self.keep(outcome, peer, body, product, "pull", None)
            elif mode in ("auto", "async") and exchange is not None:
                outcome.via = "response"
                await self._exchange(outcome, peer, exchange, product, timeout)
            else:
                what = "footprint offer" if mode == "pull" else "PCF exchange offer" if mode == "async" else \
                    "footprint or PCF exchange offer"
                raise Refused("missing", f"{peer.bpn or peer.id} offers us no {what} for product {product} "
                                         "(it may have none, or its access policy hides it from us)")
        except Refused as exc:
            outcome.status, outcome.reason = exc.status, exc.reason
        return outcome

    async def _exchange(self, outcome: Outcome, peer: Peer, exchange: dict, product: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        endpoint, token, outcome.agreement_id = await self.edr_for(peer, exchange, timeout)
        request_id = outcome.request_id = str(uuid.uuid4())
        now = self.clock()

        def remember() -> None:
            with self.db.write() as session:
                session.add(PcfExchangeRequest(role="customer", request_id=request_id, counterparty_id=peer.id,
                                               counterparty_bpn=peer.bpn, product_id=product, status="pending",
                                               created_at=now, updated_at=now, next_attempt_at=now))
        await to_thread.run_sync(remember)
        url = f"{endpoint.rstrip('/')}/footprintExchange/{quote(request_id)}?manufacturerPartId={quote(product)}"
        status, body = await self.call("GET", url, token)
        if status == 404:
            raise Refused("missing", f"{peer.bpn or peer.id} has no footprint for product {product}: "
                                     f"{(body or {}).get('reason') if isinstance(body, dict) else body}")
        if status != 202:
            raise Refused("error", f"{peer.id}'s PCF exchange answered HTTP {status}: {str(body)[:300]}")
        while time.monotonic() < deadline:
            row = await to_thread.run_sync(self._answer, peer.id, request_id)
            if row is not None:
                outcome.status, outcome.footprint, outcome.signer = "ok", row.signed, row.signer
                return
            await asyncio.sleep(self.poll_seconds * 2)
        raise Refused("error", f"{peer.id} accepted request {request_id} but has not answered within {timeout:g} s")

    def _answer(self, supplier: str, request_id: str) -> ReceivedFootprint | None:
        with self.db.read() as session:
            return session.exec(select(ReceivedFootprint).where(ReceivedFootprint.supplier_id == supplier,
                                                                ReceivedFootprint.request_id == request_id)).first()

    async def keep(self, outcome: Outcome, peer: Peer, document: Any, product: str, via: str,
                   request_id: str | None) -> None:
        """Verify a received footprint (signature, model) and keep it; fills the outcome."""
        from connector.services.pcf_exchange import accept_received

        row = await to_thread.run_sync(lambda: accept_received(self.db, self.resolver, self.clock, peer.id, peer.bpn,
                                                               document, via, request_id, product))
        outcome.status, outcome.footprint, outcome.signer = "ok", row.signed, row.signer

    def received(self, product: str | None = None) -> list[ReceivedFootprint]:
        with self.db.read() as session:
            query = select(ReceivedFootprint)
            if product:
                query = query.where(ReceivedFootprint.product_id == part_id(product))
            return list(session.exec(query.order_by(col(ReceivedFootprint.received_at).desc())))
