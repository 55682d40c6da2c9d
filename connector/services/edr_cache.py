"""The consumer's EDR cache: negotiate-then-transfer in one call, and the EDRs pull transfers received.

An EDR (Endpoint Data Reference) is the DataAddress a provider sends in its TransferStartMessage:
its data plane's ``endpoint`` and a short-lived ``authorization`` token, plus (Tractus-X refresh
profile) ``tx-auth:refreshToken``/``refreshEndpoint``/``expiresIn``. The transfer service stores it
in ``TransferProcess.data_address``; this module serves it to staff and tools
(``/v3/edrs``) and keeps it usable:

- **negotiate-then-transfer** (``negotiate``): the negotiation is marked with an EDR callback
  (``local://adapter``, as Tractus-X does); when the provider's FINALIZED arrives, the pull
  transfer is created and its TransferRequestMessage queued *in the same transaction* (a
  subscriber to "negotiation finalized", ``NegotiationService.subscribe``), so a restart can
  never lose the follow-up;
- **lookup with auto-refresh** (``data_address``): an EDR that has expired or will within
  ``margin`` is refreshed first. Single-flight: one refresh per transfer at a time (a lock per
  transfer, then a re-check: whoever waited finds the fresh token and uses it); across replicas
  the write is compare-and-set on the token, so a lost race uses the winner's token;
- **expiry** (``data_address`` and ``sweep``): a pull transfer whose EDR has expired and cannot
  be refreshed (no refresh token, the provider refuses, or it stays unreachable for ``grace``) is
  terminated with that reason, never left STARTED. ``EdrSweepingWorker`` runs ``sweep`` beside
  the outbox worker; ``sweep(now)`` takes the time, so tests drive it with a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from anyio import to_thread
from sqlmodel import Session, col, select

from connector.protocol import Role
from connector.protocol.transfer import TransferMessage as T
from connector.services.criteria import EDC_NS, Criterion
from connector.services.errors import Conflict, InvalidRequest, NotFound, ServiceError
from connector.services.negotiation import NegotiationService
from connector.services.process import INITIAL, new_pid
from connector.services.queries import Fields, QuerySpec, run_query
from connector.services.received_edrs import (
    META,
    REFRESH_ENDPOINT,
    REFRESH_TOKEN,
    RefreshRefused,
    RefreshUnavailable,
    TokenRefresher,
    expires_at,
    fingerprint,
    prop,
    with_props,
)
from connector.services.transfer import FORMATS, PULL, PULLS, PUSH, TransferService
from connector.services.worker import OutboxWorker
from connector.store import Database
from connector.store.models import Agreement, Negotiation, OutgoingMessage, TransferProcess

log = logging.getLogger("pontis.edrs")

EDR_CALLBACK = "local://adapter"  # Tractus-X marks its EDR negotiations with this callback address
EXPIRED = "edr-expired"
E = EDC_NS


class PeerFailure(ServiceError):
    """The provider's refresh endpoint could not be reached or failed (502)."""

    status = 502


# --- EDR entries: what /v3/edrs/request can filter on ------------------------------------------

ENTRY_FIELDS = Fields(
    columns={
        "@id": (TransferProcess.id, False), E + "transferProcessId": (TransferProcess.id, False),
        E + "agreementId": (TransferProcess.agreement_id, False),
        E + "contractAgreementId": (TransferProcess.agreement_id, False),
        E + "contractId": (TransferProcess.agreement_id, False),
        E + "assetId": (TransferProcess.asset_id, False), E + "providerId": (TransferProcess.counterparty_id, False),
        E + "createdAt": (TransferProcess.created_at, True),
        # not shown; the base filter of every EDR query
        E + "type": (TransferProcess.role, False), E + "transferType": (TransferProcess.transfer_type, False),
        E + "state": (TransferProcess.state, False),
    },
    record=lambda row: {E + "hasEdr": row.data_address is not None},
    names=(E + "hasEdr",),
)
NEGOTIATION_ID = E + "contractNegotiationId"


class _Flight:
    __slots__ = ("lock", "__weakref__")

    def __init__(self) -> None:
        self.lock = threading.Lock()


class ConsumerEdrs:
    def __init__(self, db: Database, negotiations: NegotiationService, transfers: TransferService, *,
                 clock: Callable[[], int], refresher: TokenRefresher | None = None,
                 margin_seconds: int = 30, grace_seconds: int = 300) -> None:
        self.db = db
        self.negotiations = negotiations
        self.transfers = transfers
        self.clock = clock
        self.refresher = refresher or TokenRefresher()
        self.margin_ms = margin_seconds * 1000
        self.grace_ms = grace_seconds * 1000
        self._flights: weakref.WeakValueDictionary[str, _Flight] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()

    # --- negotiate, then transfer ------------------------------------------------------------

    def negotiate(self, request: dict[str, Any], transfer_type: str = PULL, data_destination: dict[str, Any] | None = None) -> Negotiation:
        """Start a negotiation whose FINALIZED starts a transfer (``request``: NegotiationService.request's kwargs)."""
        if transfer_type not in FORMATS:
            raise InvalidRequest("transferType", f"transferType: expected one of {', '.join(FORMATS)}, got {transfer_type!r}",
                                 path="transferType")
        if transfer_type == PUSH and not data_destination:
            raise InvalidRequest("dataDestination", "dataDestination: a push transfer needs one (where the provider "
                                                    "sends the data)", path="dataDestination")
        marker: dict[str, Any] = {"uri": EDR_CALLBACK, "events": ["contract.negotiation", "transfer.process"],
                                  "transactional": False, "transferType": transfer_type}
        if data_destination:
            marker["dataDestination"] = data_destination
        callbacks = [*(request.get("callback_addresses") or []), marker]
        return self.negotiations.request(**{**request, "callback_addresses": callbacks})

    def finalized(self, session: Session, neg: Negotiation, now: int) -> list[OutgoingMessage]:
        """The "negotiation finalized" subscriber: the messages ``on_finalized`` queued."""
        started = self._start_transfer(session, neg, now)
        return [started[1]] if started is not None else []

    def on_finalized(self, session: Session, neg: Negotiation, now: int) -> TransferProcess | None:
        """In the transaction that finalizes ``neg``: create and queue its transfer, if it asked for one."""
        started = self._start_transfer(session, neg, now)
        return started[0] if started is not None else None

    def _start_transfer(self, session: Session, neg: Negotiation,
                        now: int) -> tuple[TransferProcess, OutgoingMessage] | None:
        marker = next((c for c in neg.callback_addresses or [] if isinstance(c, dict) and c.get("uri") == EDR_CALLBACK),
                      None)
        if marker is None or neg.role != Role.CONSUMER.value or not neg.agreement_id:
            return None
        if session.exec(select(TransferProcess.id).where(TransferProcess.role == Role.CONSUMER.value,
                                                         TransferProcess.agreement_id == neg.agreement_id)).first():
            return None  # a replayed FINALIZED, or staff were quicker
        agreement = session.get(Agreement, neg.agreement_id)
        if agreement is None:
            log.warning("negotiation %s finalized without a stored agreement; no transfer started", neg.id)
            return None
        pid = new_pid()
        row = TransferProcess(
            id=pid, role=Role.CONSUMER.value, state=INITIAL, consumer_pid=pid,
            counterparty_id=agreement.provider_id or neg.counterparty_id, counterparty_address=neg.counterparty_address,
            agreement_id=agreement.id, asset_id=agreement.asset_id, transfer_type=marker.get("transferType") or PULL,
            data_destination=marker.get("dataDestination"), private_properties={},
            callback_addresses=[c for c in neg.callback_addresses or [] if c is not marker],
            created_at=now, updated_at=now)
        session.add(row)
        queued = self.transfers.enqueue(session, row, T.REQUEST, now)
        log.info("negotiation %s finalized: transfer %s requested (%s)", neg.id, pid, row.transfer_type)
        return row, queued

    # --- the cache -----------------------------------------------------------------------------

    def entries(self, spec: QuerySpec) -> list[tuple[TransferProcess, str | None]]:
        """The EDRs of our pull transfers (not yet ended) that ``spec`` selects, with their negotiation ids."""
        with self.db.read() as session:
            criteria = []
            for c in spec.criteria:
                if c.left != NEGOTIATION_ID:
                    criteria.append(c)
                    continue
                if c.operator not in ("=", "in"):
                    raise InvalidRequest("query.operator", f"filterExpression(contractNegotiationId): use = or in, "
                                                           f"not {c.operator!r}", path="filterExpression")
                wanted = [str(v) for v in (c.right if isinstance(c.right, list) else [c.right])]
                ids = list(session.exec(select(Agreement.id).where(Agreement.negotiation_id.in_(wanted))))  # type: ignore[attr-defined]
                criteria.append(Criterion(E + "agreementId", "in", ids or ["\0none"]))
            base = (Criterion(E + "type", "=", Role.CONSUMER.value), Criterion(E + "transferType", "in", list(PULLS)),
                    Criterion(E + "state", "in", ["STARTED", "SUSPENDED"]), Criterion(E + "hasEdr", "=", True))
            narrowed = QuerySpec(spec.offset, spec.limit, spec.descending, spec.sort_field, (*base, *criteria))
            rows = run_query(session, TransferProcess, narrowed, ENTRY_FIELDS, TransferProcess.id)
            agreements = {a.id: a.negotiation_id for a in session.exec(
                select(Agreement).where(Agreement.id.in_([r.agreement_id for r in rows])))}  # type: ignore[attr-defined]
            return [(row, agreements.get(row.agreement_id)) for row in rows]

    def _load(self, tp_id: str) -> TransferProcess:
        with self.db.read() as session:
            row = session.get(TransferProcess, tp_id)
        if row is None or row.role != Role.CONSUMER.value:
            raise NotFound("edr.unknown", f"no EDR for transfer process {tp_id!r}: no such consumer transfer",
                           path="@id")
        return row

    def _usable(self, row: TransferProcess) -> None:
        """Refuse, saying why, an EDR that cannot be used now."""
        if row.data_address is None:
            if row.state in (INITIAL, "REQUESTED"):
                raise NotFound("edr.pending", f"transfer process {row.id} is {row.state}: the provider has not "
                                              "started it yet, so there is no EDR", path="@id")
            raise NotFound("edr.none", f"transfer process {row.id} has no EDR (it was deleted, or the provider "
                                       f"sent none); it is {row.state}", path="@id")
        if row.state in ("COMPLETED", "TERMINATED"):
            why = row.error_detail or "; ".join((row.error or {}).get("reasons") or []) or "no reason recorded"
            raise Conflict("edr.ended", f"transfer process {row.id} is {row.state} ({why}); its EDR is void")
        error = row.error or {}
        if error.get("code") == EXPIRED:
            raise Conflict("edr.expired", f"transfer process {row.id} is being terminated: "
                                          + "; ".join(error.get("reasons") or []))
        if row.state == "SUSPENDED":
            raise Conflict("edr.suspended", f"transfer process {row.id} is SUSPENDED: resume it to get a new EDR")

    def data_address(self, tp_id: str, *, auto_refresh: bool = True) -> dict[str, Any]:
        """The EDR of a STARTED pull transfer; refreshed first when it expires within the margin."""
        row = self._load(tp_id)
        self._usable(row)
        now = self.clock()
        expiry = expires_at(row)
        if expiry is None or expiry - self.margin_ms > now:
            return row.data_address  # type: ignore[return-value]
        if not auto_refresh:
            if expiry > now or prop(row.data_address, REFRESH_TOKEN):
                return row.data_address  # type: ignore[return-value]  # the caller may refresh it itself
            self._expire(row.id, "the EDR expired and carries no refresh token")
            raise Conflict("edr.expired", f"the EDR of transfer process {tp_id} expired and carries no refresh "
                                          "token; the transfer is terminated")
        return self._refresh(tp_id, force=False)

    def refresh(self, tp_id: str) -> dict[str, Any]:
        """Refresh now, whatever the token's expiry (``POST /v3/edrs/{tp}/refresh``)."""
        self._usable(self._load(tp_id))
        return self._refresh(tp_id, force=True)

    def _flight(self, tp_id: str) -> _Flight:
        with self._guard:
            flight = self._flights.get(tp_id)
            if flight is None:
                flight = self._flights[tp_id] = _Flight()
            return flight

    def _refresh(self, tp_id: str, *, force: bool, now: int | None = None) -> dict[str, Any]:
        flight = self._flight(tp_id)
        with flight.lock:  # one refresh per transfer at a time; the others wait, then re-check
            row = self._load(tp_id)
            self._usable(row)
            now = self.clock() if now is None else now
            expiry = expires_at(row)
            address = row.data_address or {}
            if not force and expiry is not None and expiry - self.margin_ms > now:
                return address  # refreshed while we waited
            endpoint, refresh_token = prop(address, REFRESH_ENDPOINT), prop(address, REFRESH_TOKEN)
            token = prop(address, "authorization")
            expired = expiry is not None and expiry <= now
            if not endpoint or not refresh_token:
                if expired:
                    self._expire(tp_id, "the EDR expired and carries no refresh token")
                    raise Conflict("edr.expired", f"the EDR of transfer process {tp_id} expired and cannot be "
                                                  "refreshed (no refresh token); the transfer is terminated")
                if force:
                    raise Conflict("edr.not-refreshable", f"the EDR of transfer process {tp_id} carries no refresh "
                                                          "token or refresh endpoint")
                return address
            try:
                # the provider's DID: the client token of a dcp-mode refresh is addressed to it
                audience = prop(address, "refreshAudience") or row.counterparty_id
                grant = self.refresher.refresh(endpoint, refresh_token, token, audience=audience)
            except RefreshRefused as exc:
                latest = self._load(tp_id)
                if prop(latest.data_address, "authorization") != token:
                    return latest.data_address or {}  # another replica refreshed first (single use tokens)
                if expired:
                    self._expire(tp_id, f"the EDR expired and the provider refused to refresh it: {exc}")
                    raise Conflict("edr.expired", f"the provider refused to refresh the EDR of transfer process "
                                                  f"{tp_id} ({exc}); the transfer is terminated") from None
                if force:
                    raise Conflict("edr.refresh-refused", f"the provider refused to refresh the EDR: {exc}") from None
                return address  # still valid for a moment; the next request tries again
            except RefreshUnavailable as exc:
                if expiry is not None and expiry + self.grace_ms <= now:
                    self._expire(tp_id, f"the EDR expired and could not be refreshed for "
                                        f"{self.grace_ms // 1000} s: {exc}")
                elif not expired and not force:
                    return address
                raise PeerFailure("edr.refresh-failed", f"the EDR of transfer process {tp_id} could not be "
                                                        f"refreshed: {exc}") from None
            return self._store(tp_id, token, grant, now)

    def _store(self, tp_id: str, old_token: str | None, grant: dict[str, Any], now: int) -> dict[str, Any]:
        with self.db.write() as session:
            row = session.get(TransferProcess, tp_id, with_for_update=True)
            if row is None or row.data_address is None:
                raise NotFound("edr.none", f"transfer process {tp_id} lost its EDR while it was refreshed")
            if prop(row.data_address, "authorization") != old_token:
                return row.data_address  # compare-and-set: someone else stored a newer token
            updates = {"authorization": grant["access_token"]}
            if isinstance(grant.get("refresh_token"), str):
                updates[REFRESH_TOKEN] = grant["refresh_token"]
            seconds = grant.get("expires_in")
            seconds = int(seconds) if isinstance(seconds, (int, float, str)) and str(seconds).isdigit() else None
            if seconds is not None:
                updates["expiresIn"] = str(seconds)  # under every name it has (bare and tx-auth:)
            row.data_address = with_props(row.data_address, updates)
            if seconds is not None:
                meta = {"token": fingerprint(grant["access_token"]), "expiresAt": now + seconds * 1000}
                row.private_properties = {**(row.private_properties or {}), META: meta}
            session.add(row)
            log.info("refreshed the EDR of transfer %s", tp_id)
            return dict(row.data_address)

    def _expire(self, tp_id: str, reason: str) -> None:
        log.warning("transfer %s: %s; terminating it", tp_id, reason)
        try:
            self.transfers.terminate(tp_id, reason, code=EXPIRED)
        except ServiceError as exc:  # it ended meanwhile
            log.info("transfer %s could not be terminated: %s", tp_id, exc)

    def delete(self, tp_id: str) -> None:
        """Forget an EDR. Its transfer ends too: completed if STARTED, terminated if SUSPENDED."""
        with self.db.write() as session:
            row = session.get(TransferProcess, tp_id, with_for_update=True)
            if row is None or row.role != Role.CONSUMER.value or row.data_address is None:
                raise NotFound("edr.unknown", f"no EDR for transfer process {tp_id!r}", path="@id")
            row.data_address = None
            session.add(row)
            state = row.state
        try:
            if state == "STARTED":
                self.transfers.complete(tp_id)
            elif state == "SUSPENDED":
                self.transfers.terminate(tp_id, "the EDR was deleted by staff", code="edr-deleted")
        except ServiceError as exc:
            log.info("transfer %s was not ended after its EDR was deleted: %s", tp_id, exc)

    def sweep(self, now: int | None = None) -> list[str]:
        """Check STARTED pull transfers whose EDR has expired: refresh each, or terminate it with the reason."""
        now = self.clock() if now is None else now
        with self.db.read() as session:
            rows = list(session.exec(select(TransferProcess).where(
                TransferProcess.role == Role.CONSUMER.value, col(TransferProcess.transfer_type).in_(PULLS),
                TransferProcess.state == "STARTED", TransferProcess.data_address.is_not(None))))  # type: ignore[union-attr]
        ended = []
        for row in rows:
            expiry = expires_at(row)
            if expiry is None or expiry > now or (row.error or {}).get("code") == EXPIRED:
                continue
            try:
                self._refresh(row.id, force=False, now=now)
            except ServiceError as exc:
                log.info("EDR sweep, transfer %s: %s", row.id, "; ".join(exc.reasons))
                if isinstance(exc, Conflict):
                    ended.append(row.id)
        return ended


class EdrSweepingWorker(OutboxWorker):
    """The outbox worker, plus the consumer's EDR sweep every ``sweep_seconds`` beside it."""

    def __init__(self, *args: Any, sweep: Callable[[int], Any], sweep_seconds: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sweep = sweep
        self.sweep_seconds = sweep_seconds

    async def run(self) -> None:
        sweeper = asyncio.create_task(self._sweep_loop())
        try:
            await super().run()
        finally:
            sweeper.cancel()

    async def _sweep_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await to_thread.run_sync(self.sweep, self.clock())
            except Exception:  # a failing sweep must not stop the next one
                log.exception("the EDR sweep failed")
