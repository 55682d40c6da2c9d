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
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from anyio import to_thread
from sqlmodel import select

from connector.config import Peer
from connector.pcf.document import part_id
from connector.policy import policy_from_compact_dsp
from connector.protocol import Role
from connector.protocol.messages import OfferRef
from connector.services.errors import ServiceError
from connector.services.footprints import CX_TAXO, DCT_TYPE, PART_ID, SEMANTIC_ID
from connector.services.remote_catalog import CounterPartyError, RemoteCatalog
from connector.services.ssrf import Allowlist, SsrfRefused, acheck_backend_url, guarded_session
from connector.store.models import Agreement, Negotiation, PcfExchangeRequest, ReceivedFootprint, TransferProcess

log = logging.getLogger("pontis.pcf")

EXCHANGE_TYPE = CX_TAXO + "PcfExchange"


class Refused(Exception):
    """A step failed with an outcome status (missing, denied, error) and the reason."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


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


def _one(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


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
    def __init__(self, container: Any) -> None:
        self.c = container
        self.settings = container.settings
        self.db = container.db
        self.catalog = RemoteCatalog(container.client, container.authenticator)
        hosts = [urlsplit(p.dsp_url).hostname for p in self.settings.peers if p.dsp_url]
        self.allowlist = Allowlist.parse([*self.settings.dataplane.allowlist, *[h for h in hosts if h]])
        self._session: aiohttp.ClientSession | None = None
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.poll_seconds = 0.05
        # a peer's catalog, reused for a few seconds: a roll-up asks one supplier for many products
        self._catalogs: dict[str, tuple[float, list[dict]]] = {}
        self.catalog_seconds = 5.0
        self._resolver: Any = None
        self._exchange_offered = False
        self._offering = asyncio.Lock()

    @property
    def resolver(self) -> Any:
        """How suppliers' DIDs are resolved to check their signatures (cached DID documents)."""
        if self._resolver is None:
            from connector.identity.did import DidResolver

            identity = getattr(self.c, "identity", None)
            from connector.services.transport import DocumentFetch

            self._resolver = identity.resolver if identity is not None else DidResolver(
                allow_insecure_localhost=self.settings.identity.allow_insecure_did_web,
                ttl_seconds=self.settings.identity.did_cache_seconds, fetch=DocumentFetch(self.c.guard))
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

    # --- agreements and EDRs, reused ----------------------------------------------------------------

    async def edr_for(self, peer: Peer, dataset: dict, timeout: float) -> tuple[str, str, str]:
        """(endpoint, authorization, agreement id) for a dataset of ``peer``: reused when we hold them."""
        asset = str(dataset.get("@id"))
        held = await self._reuse(peer, asset)
        if held is not None:
            return held
        lock = self._locks.setdefault((peer.id, asset), asyncio.Lock())
        async with lock:  # one negotiation per asset at a time; the others reuse its agreement
            held = await self._reuse(peer, asset)  # made while we waited?
            if held is not None:
                return held
            deadline = time.monotonic() + timeout
            agreement_id, _ = await to_thread.run_sync(self._held, peer.id, asset)
            if agreement_id is not None:
                tp = await to_thread.run_sync(lambda: self.c.transfers.request(
                    agreement_id=agreement_id, counterparty_address=peer.dsp_url, counterparty_id=peer.id).id)
                address = await self._started(tp, deadline)
                if address is not None:
                    return address["endpoint"], self._authorization(address), agreement_id
            agreement_id = await self._negotiate(peer, dataset, deadline)
            tp = await self._transfer_of(agreement_id, deadline)
            address = await self._started(tp, deadline)
            if address is None:
                raise Refused("error", f"the transfer for {asset} under agreement {agreement_id} did not start")
            return address["endpoint"], self._authorization(address), agreement_id

    async def _reuse(self, peer: Peer, asset: str) -> tuple[str, str, str] | None:
        """The EDR of a started transfer under an agreement we hold for the asset, if there is one."""
        def find() -> tuple[str, str, str] | None:
            agreement_id, transfer = self._held(peer.id, asset)
            if transfer is None:
                return None
            try:
                address = self.c.consumer_edrs.data_address(transfer)
            except ServiceError as exc:
                log.info("EDR of transfer %s not reusable (%s); starting another", transfer, exc)
                return None
            return address["endpoint"], self._authorization(address), agreement_id or ""
        return await to_thread.run_sync(find)

    @staticmethod
    def _authorization(address: dict) -> str:
        from connector.services.edr_client import prop

        return address.get("authorization") or prop(address, "authorization") or ""

    def _held(self, provider: str, asset: str) -> tuple[str | None, str | None]:
        with self.db.read() as session:
            agreement = session.exec(select(Agreement).where(
                Agreement.asset_id == asset, Agreement.provider_id == provider,
                Agreement.consumer_id == self.c.negotiations.participant_id)
                .order_by(Agreement.created_at.desc())).first()  # type: ignore[attr-defined]
            if agreement is None:
                return None, None
            transfer = session.exec(select(TransferProcess.id).where(
                TransferProcess.role == Role.CONSUMER.value, TransferProcess.agreement_id == agreement.id,
                TransferProcess.state == "STARTED", TransferProcess.data_address.is_not(None))  # type: ignore[union-attr]
                .order_by(TransferProcess.created_at.desc())).first()  # type: ignore[attr-defined]
            return agreement.id, transfer

    async def _negotiate(self, peer: Peer, dataset: dict, deadline: float) -> str:
        offer = _one(dataset.get("hasPolicy", dataset.get("odrl:hasPolicy")))
        if not isinstance(offer, dict) or not offer.get("@id"):
            raise Refused("error", f"the dataset {dataset.get('@id')} carries no offer")
        try:
            ref = OfferRef(offer["@id"], policy_from_compact_dsp(offer), str(dataset.get("@id")), peer.id)
            neg = await to_thread.run_sync(lambda: self.c.consumer_edrs.negotiate(
                {"counterparty_address": peer.dsp_url, "counterparty_id": peer.id, "offer": ref}))
        except ServiceError as exc:
            raise Refused("denied", "; ".join(exc.reasons)) from None
        while time.monotonic() < deadline:
            row = await to_thread.run_sync(self._row, Negotiation, neg.id)
            if row.state == "FINALIZED" and row.agreement_id:
                return row.agreement_id
            if row.state == "TERMINATED":
                reasons = "; ".join((row.error or {}).get("reasons") or []) or row.error_detail or "no reason given"
                raise Refused("denied", f"the negotiation for {dataset.get('@id')} was refused: {reasons}")
            await asyncio.sleep(self.poll_seconds)
        raise Refused("error", f"the negotiation for {dataset.get('@id')} did not end in time")

    def _row(self, model: Any, key: str) -> Any:
        with self.db.read() as session:
            return session.get(model, key)

    async def _transfer_of(self, agreement_id: str, deadline: float) -> str:
        def find() -> str | None:
            with self.db.read() as session:
                return session.exec(select(TransferProcess.id).where(
                    TransferProcess.role == Role.CONSUMER.value, TransferProcess.agreement_id == agreement_id)).first()
        while time.monotonic() < deadline:
            found = await to_thread.run_sync(find)
            if found:
                return found
            await asyncio.sleep(self.poll_seconds)
        raise Refused("error", f"no transfer was started under agreement {agreement_id}")

    async def _started(self, tp: str, deadline: float) -> dict | None:
        while time.monotonic() < deadline:
            row = await to_thread.run_sync(self._row, TransferProcess, tp)
            if row.state == "STARTED" and row.data_address:
                return await to_thread.run_sync(lambda: self.c.consumer_edrs.data_address(tp))
            if row.state in ("TERMINATED", "COMPLETED"):
                log.info("transfer %s ended %s: %s", tp, row.state, row.error_detail or row.error)
                return None
            await asyncio.sleep(self.poll_seconds)
        raise Refused("error", f"transfer {tp} did not start in time")

    # --- the request ----------------------------------------------------------------------------------

    async def request(self, supplier: str, product: str, *, mode: str = "auto", timeout: float = 60) -> Outcome:
        outcome = Outcome("error", supplier, product)
        if not self._exchange_offered:  # a customer offers its exchange API too: answers and updates come there
            from connector.services.footprints import ensure_exchange_offer

            async with self._offering:  # a roll-up's concurrent first requests would write the offer twice
                if not self._exchange_offered:
                    await to_thread.run_sync(ensure_exchange_offer, self.db, self.c.negotiations.clock())
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
        now = self.c.negotiations.clock()

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
        from connector.services.pcf_exchange import accept_footprint

        row = await to_thread.run_sync(lambda: accept_footprint(self.c, peer.id, peer.bpn, document, via, request_id,
                                                                product))
        outcome.status, outcome.footprint, outcome.signer = "ok", row.signed, row.signer

    def received(self, product: str | None = None) -> list[ReceivedFootprint]:
        with self.db.read() as session:
            query = select(ReceivedFootprint)
            if product:
                query = query.where(ReceivedFootprint.product_id == part_id(product))
            return list(session.exec(query.order_by(ReceivedFootprint.received_at.desc())))  # type: ignore[attr-defined]
