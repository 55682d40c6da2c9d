"""The supplier's side of PCF exchange, and the customer's mailbox for answers (CX-0136).

Two data-plane sources, reached only with a valid EDR token, so the caller is the transfer's
verified consumer (participant id and the BPN from its verified claims), never a header it set:

- ``PontisFootprint`` (one asset per product, ``services.footprints``): the synchronous pull;
  ``GET`` answers the product's Active footprint, signed, and remembers who received it;
- ``PontisPcfExchange`` (the ``pcf-exchange`` asset, ``dct:type cx-taxo:PcfExchange``, version 1.1):
  ``GET /footprintExchange/{requestId}?manufacturerPartId=…`` (and the deprecated
  ``GET /productIds/{id}?requestId=…``) records the request and answers 202, or 404 when there is
  no footprint for the product; the worker later negotiates for the requester's own exchange asset
  and sends ``PUT /footprintExchange/{requestId}?update=false`` with the signed footprint.
  ``PUT`` (either form) is how a supplier's answer or update (``update=true``) reaches us: it
  must be signed by that supplier and be a valid PCF, and is kept in ``received_footprint``.

Requests to answer and updates to send are rows (``pcf_exchange_request``, role supplier) with
their attempts and next attempt time: stored before the 202, sent by ``run``, retried with backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from anyio import to_thread
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from connector.identity.did import DidResolver
from connector.pcf.document import part_id
from connector.services.dataflow.sources import DataRequest, Reply, Sources
from connector.services.edr_tokens import EdrError
from connector.services.footprints import EXCHANGE_SOURCE, FOOTPRINT_SOURCE, FootprintService
from connector.services.pcf_client import PcfClient, Refused, is_exchange
from connector.store import Database
from connector.store.models import Footprint, FootprintRecipient, PcfExchangeRequest, ReceivedFootprint

log = logging.getLogger("pontis.pcf")

MAX_BODY = 1 << 20
MAX_ATTEMPTS = 6


def accept_footprint(c: Any, supplier_id: str, supplier_bpn: str | None, document: Any, via: str,
                     request_id: str | None, product: str | None) -> ReceivedFootprint:
    """``accept_received`` with the database, resolver and clock of ``c`` (a Container)."""
    return accept_received(c.db, c.pcf_client.resolver, c.negotiations.clock, supplier_id, supplier_bpn, document,
                           via, request_id, product)


def accept_received(db: Database, resolver: DidResolver, clock: Callable[[], int], supplier_id: str,
                    supplier_bpn: str | None, document: Any, via: str, request_id: str | None,
                    product: str | None) -> ReceivedFootprint:
    """Check a received footprint (the supplier's proof, a valid PCF) and keep it (raises Refused)."""
    from connector.pcf.models import FootprintError, to_internal
    from connector.services.documents import verify_received

    if not isinstance(document, dict):
        raise Refused("error", "the supplier sent no JSON footprint")
    if request_id is None and via == "pull" and isinstance(document.get("id"), str):
        with db.read() as session:  # the very document we verified and kept before: nothing to check or write
            kept = session.exec(select(ReceivedFootprint).where(ReceivedFootprint.supplier_id == supplier_id,
                                                                ReceivedFootprint.footprint_id == document["id"])).first()
        if kept is not None and kept.signed == document and \
                (product is None or kept.product_id == part_id(product)):
            return kept
    signer = supplier_id if supplier_id.startswith("did:") else None
    try:
        result = verify_received(document, resolver.resolve_key, signer)
    except Exception as exc:  # an unreachable DID document: the proof cannot be checked
        raise Refused("error", f"the footprint's signature could not be checked: {exc}") from None
    if result is None:
        raise Refused("error", f"the footprint from {supplier_id} is not signed (no Data Integrity proof)")
    if not result.ok:
        raise Refused("error", f"the footprint's signature is not valid: {result.reason}")
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    try:
        doc8 = to_internal(unsigned)
    except FootprintError as exc:
        raise Refused("error", f"the footprint from {supplier_id} is not a valid PCF: {exc}") from None
    product_id = part_id(doc8["productIds"][0])
    if product is not None and part_id(product) not in {part_id(p) for p in doc8["productIds"]}:
        raise Refused("error", f"asked for product {product}, the supplier sent a footprint for {product_id}")
    signer_vm = str(result.proofs[0].proof.get("verificationMethod", "")) if result.proofs else ""
    now = clock()
    with db.write() as session:
        row = session.exec(select(ReceivedFootprint).where(ReceivedFootprint.supplier_id == supplier_id,
                                                           ReceivedFootprint.footprint_id == doc8["id"])).first()
        row = row or ReceivedFootprint(footprint_id=doc8["id"], supplier_id=supplier_id, product_id=product_id,
                                       signer=signer_vm, via=via, status="Active", signed=document)
        row.supplier_bpn, row.signed, row.signer, row.via = supplier_bpn, document, signer_vm, via
        row.status = str(doc8.get("status") or "Active")
        row.request_id, row.received_at = request_id or row.request_id, now
        session.add(row)
        replaced = set(doc8.get("precedingPfIds") and [p.get("id") for p in doc8["precedingPfIds"]] or [])
        for older in session.exec(select(ReceivedFootprint).where(ReceivedFootprint.supplier_id == supplier_id,
                                                                  ReceivedFootprint.product_id == product_id,
                                                                  ReceivedFootprint.footprint_id != doc8["id"])):
            if older.footprint_id in replaced or via == "update":
                older.status = "Deprecated"
                session.add(older)
        if request_id is not None:
            asked = session.exec(select(PcfExchangeRequest).where(
                PcfExchangeRequest.role == "customer", PcfExchangeRequest.counterparty_id == supplier_id,
                PcfExchangeRequest.request_id == request_id)).first()
            if asked is not None:
                asked.status, asked.footprint_id, asked.updated_at = "done", doc8["id"], now
                session.add(asked)
    log.info("received footprint %s of %s from %s (%s), signed by %s", doc8["id"], product_id, supplier_id, via,
             signer_vm)
    return row


def _json_reply(status: int, body: Any) -> Reply:
    data = b"" if body is None else json.dumps(body).encode()
    return Reply(status, [("content-type", "application/json"), ("content-length", str(len(data)))], data)


async def _read_body(request: DataRequest) -> Any:
    raw = await request.read(MAX_BODY, "a footprint")
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise EdrError(400, "the body is not JSON; expected the footprint", code="bad_request") from None


class PcfExchange:
    def __init__(self, db: Database, footprints: FootprintService, pcf_client: PcfClient, *,
                 clock: Callable[[], int]) -> None:
        self.db = db
        self.pcf = footprints
        self.pcf_client = pcf_client
        self.clock = clock
        self._stopping = False
        self._wakeup: asyncio.Event | None = None

    # --- the synchronous pull ---------------------------------------------------------------------------

    async def serve_footprint(self, address: Mapping[str, Any], request: DataRequest) -> Reply:
        if request.method not in ("GET", "HEAD"):
            raise EdrError(405, f"a footprint is read with GET, not {request.method}", code="method")
        product = str(address.get("productId", ""))
        row = await to_thread.run_sync(self._deliver, product, request.caller)
        if row is None:
            raise EdrError(404, f"no Active footprint for product {product} is published", code="not_found")
        reply = _json_reply(200, row.signed)
        return Reply(200, reply.headers, b"" if request.method == "HEAD" else reply.body)

    def _deliver(self, product: str, caller: tuple[str, str | None] | None) -> Footprint | None:
        row = self.pcf.for_product(product)
        if row is not None and caller is not None:
            self._record(row.id, caller)
        return row

    def _record(self, footprint_id: str, caller: tuple[str, str | None]) -> None:
        with self.db.read() as session:  # a repeated pull writes nothing
            if session.exec(select(FootprintRecipient.id).where(FootprintRecipient.footprint_id == footprint_id,
                                                                FootprintRecipient.recipient_id == caller[0])).first():
                return
        try:
            with self.db.write() as session:
                self.pcf.record_delivery(session, footprint_id, caller[0], caller[1], self.clock())
        except IntegrityError:  # recorded meanwhile by a parallel pull
            pass

    # --- the asynchronous exchange API ------------------------------------------------------------------

    async def serve_exchange(self, address: Mapping[str, Any], request: DataRequest) -> Reply:
        if request.caller is None:
            raise EdrError(401, "the caller is not known", code="unauthorized")
        parts = [unquote(p) for p in request.path.strip("/").split("/") if p]
        query = {k: v[0] for k, v in parse_qs(request.query).items()}
        if len(parts) != 2 or parts[0] not in ("footprintExchange", "productIds"):
            raise EdrError(404, f"no /{request.path} here: expected /footprintExchange/{{requestId}} or "
                                "/productIds/{productId}", code="not_found")
        legacy = parts[0] == "productIds"
        request_id = query.get("requestId") if legacy else parts[1]
        product = parts[1] if legacy else query.get("manufacturerPartId") or query.get("customerPartId")
        if request.method == "GET":
            if not request_id or not product:
                missing = "requestId" if not request_id else "manufacturerPartId"
                raise EdrError(400, f"{missing} is required", code="bad_request")
            answer = await to_thread.run_sync(self._asked, request.caller, request_id, product, legacy,
                                              query.get("message"))
            if answer is not None:
                return _json_reply(404, {"reason": answer})
            self.wake()
            return _json_reply(202, None)
        if request.method == "PUT":
            update = query.get("update", "false").lower() == "true" or (legacy and not request_id)
            document = await _read_body(request)
            try:
                await to_thread.run_sync(self._answered, request.caller, request_id, document, update)
            except Refused as exc:
                return _json_reply(400 if exc.status == "error" else 404, {"reason": exc.reason})
            return _json_reply(200, None)
        raise EdrError(405, f"the PCF exchange API takes GET and PUT, not {request.method}", code="method")

    def _asked(self, caller: tuple[str, str | None], request_id: str, product: str, legacy: bool,
               message: str | None) -> str | None:
        """Store a customer's request; the reason it cannot be answered, if so."""
        footprint = self.pcf.for_product(product)
        if footprint is None:
            return f"no Active footprint for product {product} is published here"
        now = self.clock()
        try:
            with self.db.write() as session:
                session.add(PcfExchangeRequest(
                    role="supplier", request_id=request_id, counterparty_id=caller[0], counterparty_bpn=caller[1],
                    product_id=footprint.product_id, footprint_id=footprint.id, legacy=legacy, message=message,
                    created_at=now, updated_at=now, next_attempt_at=now))
        except IntegrityError:
            pass  # the same request again: it is answered once
        log.info("PCF request %s from %s (%s) for %s", request_id, caller[0], caller[1], product)
        return None

    def _answered(self, caller: tuple[str, str | None], request_id: str | None, document: Any, update: bool) -> None:
        if not update:
            with self.db.read() as session:
                asked = session.exec(select(PcfExchangeRequest).where(
                    PcfExchangeRequest.role == "customer", PcfExchangeRequest.counterparty_id == caller[0],
                    PcfExchangeRequest.request_id == (request_id or ""))).first()
            if asked is None:
                raise Refused("missing", f"we sent {caller[0]} no request {request_id!r}; an unrequested footprint "
                                         "is an update (update=true)")
            product: str | None = asked.product_id
        else:
            product = None
        accept_received(self.db, self.pcf_client.resolver, self.clock, caller[0], caller[1], document,
                        "update" if update else "response", None if update else request_id, product)

    def requests(self, role: str | None = None, limit: int = 100) -> list[PcfExchangeRequest]:
        """The exchanges, newest first (for staff)."""
        with self.db.read() as session:
            query = select(PcfExchangeRequest)
            if role:
                query = query.where(PcfExchangeRequest.role == role)
            return list(session.exec(query.order_by(col(PcfExchangeRequest.id).desc()).limit(limit)))

    # --- the worker: answers and updates ----------------------------------------------------------------

    def wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    def _due(self, now: int) -> list[PcfExchangeRequest]:
        with self.db.read() as session:
            return list(session.exec(select(PcfExchangeRequest).where(
                PcfExchangeRequest.role == "supplier", PcfExchangeRequest.status == "pending",
                PcfExchangeRequest.next_attempt_at <= now).limit(32)))

    async def run_once(self) -> int:
        due = await to_thread.run_sync(self._due, self.clock())
        await asyncio.gather(*(self._send(row) for row in due))
        return len(due)

    async def run(self, idle_seconds: float = 1.0) -> None:
        self._wakeup = asyncio.Event()
        while not self._stopping:
            self._wakeup.clear()
            try:
                await self.run_once()
            except Exception:  # a database hiccup must not stop the exchange
                log.exception("PCF exchange round failed")
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=idle_seconds)
            except TimeoutError:
                pass

    async def _send(self, row: PcfExchangeRequest) -> None:
        client = self.pcf_client
        if row.id is None or row.footprint_id is None:  # a stored answer always has both
            raise ValueError(f"PCF exchange request {row.request_id} has no id or footprint")
        row_id, footprint_id = row.id, row.footprint_id
        try:
            footprint = await to_thread.run_sync(self.pcf.get, footprint_id)
            peer = client.peer(row.counterparty_id)
            exchange = next((d for d in await client.datasets(peer) if is_exchange(d)), None)
            if exchange is None:
                raise Refused("error", f"{peer.id} offers us no PCF exchange asset to answer to")
            endpoint, token, _ = await client.edr_for(peer, exchange, 60)
            base, rid = endpoint.rstrip("/"), quote(row.request_id)
            if row.legacy:
                url = f"{base}/productIds/{quote(row.product_id)}" + ("" if row.update else f"?requestId={rid}")
            else:
                url = f"{base}/footprintExchange/{rid}?update={'true' if row.update else 'false'}"
            status, body = await client.call("PUT", url, token, footprint.signed)
            if status != 200:
                raise Refused("error", f"{peer.id} answered the PUT with HTTP {status}: {str(body)[:300]}")
        except (Refused, Exception) as exc:  # noqa: BLE001 - every failure is stored and retried
            reason = exc.reason if isinstance(exc, Refused) else f"{type(exc).__name__}: {exc}"
            await to_thread.run_sync(self._failed, row_id, reason)
            return
        await to_thread.run_sync(self._done, row_id, footprint.id, (row.counterparty_id, row.counterparty_bpn))

    def _done(self, row_id: int, footprint_id: str, recipient: tuple[str, str | None]) -> None:
        with self.db.write() as session:
            row = session.get(PcfExchangeRequest, row_id)
            if row is None:  # deleted meanwhile: nothing to mark
                return
            row.status, row.updated_at, row.error = "done", self.clock(), None
            session.add(row)
        self._record(footprint_id, recipient)
        log.info("sent footprint %s to %s (request %s)", footprint_id, recipient[0], row.request_id)

    def _failed(self, row_id: int, reason: str) -> None:
        now = self.clock()
        with self.db.write() as session:
            row = session.get(PcfExchangeRequest, row_id)
            if row is None:
                return
            row.attempts += 1
            row.error, row.updated_at = reason, now
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.next_attempt_at = now + int(1000 * 2 ** row.attempts)
            session.add(row)
        log.warning("PCF exchange request %s to %s, attempt %d: %s", row.request_id, row.counterparty_id,
                    row.attempts, reason)


def serve_on(sources: Sources, exchange: PcfExchange) -> None:
    """Plug the footprint pull and the exchange API into the data plane's sources."""
    sources.handlers[FOOTPRINT_SOURCE] = exchange.serve_footprint
    sources.handlers[EXCHANGE_SOURCE] = exchange.serve_exchange
