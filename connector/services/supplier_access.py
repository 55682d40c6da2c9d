"""An EDR for a supplier's dataset, as a customer: reuse what we hold, else negotiate and transfer.

An agreement we hold for the asset and a STARTED transfer under it are reused; an agreement
without a started transfer gets a new transfer; otherwise we negotiate (through the consumer's
EDR cache, which starts the transfer when the negotiation ends). One negotiation per asset at a
time: concurrent askers wait and reuse its agreement. Used by ``pcf_client``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from sqlmodel import col, select

from connector.config import Peer
from connector.policy import policy_from_compact_dsp
from connector.protocol import Role
from connector.protocol.messages import OfferRef
from connector.services.errors import ServiceError
from connector.store import Database
from connector.store.models import Agreement, Negotiation, TransferProcess

if TYPE_CHECKING:
    from connector.services.edr_cache import ConsumerEdrs
    from connector.services.transfer import TransferService

log = logging.getLogger("pontis.pcf")


class Refused(Exception):
    """A step failed with an outcome status (missing, denied, error) and the reason."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _one(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


class SupplierAccess:
    def __init__(self, db: Database, participant_id: str, transfers: TransferService,
                 edr_cache: ConsumerEdrs) -> None:
        self.db = db
        self.participant_id = participant_id
        self.transfers = transfers
        self.edr_cache = edr_cache
        self.poll_seconds = 0.05
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

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
                held_id = agreement_id
                tp = await to_thread.run_sync(lambda: self.transfers.request(
                    agreement_id=held_id, counterparty_address=peer.dsp_url or "", counterparty_id=peer.id).id)
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
                address = self.edr_cache.data_address(transfer)
            except ServiceError as exc:
                log.info("EDR of transfer %s not reusable (%s); starting another", transfer, exc)
                return None
            return address["endpoint"], self._authorization(address), agreement_id or ""
        return await to_thread.run_sync(find)

    @staticmethod
    def _authorization(address: dict) -> str:
        from connector.services.received_edrs import prop

        return address.get("authorization") or prop(address, "authorization") or ""

    def _held(self, provider: str, asset: str) -> tuple[str | None, str | None]:
        with self.db.read() as session:
            agreement = session.exec(select(Agreement).where(
                Agreement.asset_id == asset, Agreement.provider_id == provider,
                Agreement.consumer_id == self.participant_id)
                .order_by(col(Agreement.created_at).desc())).first()
            if agreement is None:
                return None, None
            transfer = session.exec(select(TransferProcess.id).where(
                TransferProcess.role == Role.CONSUMER.value, TransferProcess.agreement_id == agreement.id,
                TransferProcess.state == "STARTED", col(TransferProcess.data_address).is_not(None))
                .order_by(col(TransferProcess.created_at).desc())).first()
            return agreement.id, transfer

    async def _negotiate(self, peer: Peer, dataset: dict, deadline: float) -> str:
        offer = _one(dataset.get("hasPolicy", dataset.get("odrl:hasPolicy")))
        if not isinstance(offer, dict) or not offer.get("@id"):
            raise Refused("error", f"the dataset {dataset.get('@id')} carries no offer")
        try:
            ref = OfferRef(offer["@id"], policy_from_compact_dsp(offer), str(dataset.get("@id")), peer.id)
            neg = await to_thread.run_sync(lambda: self.edr_cache.negotiate(
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
                return await to_thread.run_sync(lambda: self.edr_cache.data_address(tp))
            if row.state in ("TERMINATED", "COMPLETED"):
                log.info("transfer %s ended %s: %s", tp, row.state, row.error_detail or row.error)
                return None
            await asyncio.sleep(self.poll_seconds)
        raise Refused("error", f"transfer {tp} did not start in time")

