"""Getting an EDR for a supplier's asset through our own consumer machinery, reusing what we have.

First our EDR cache (``services.edr_cache``): a STARTED pull transfer for the same asset at
the same provider is reused (its token refreshed when due). Otherwise the asset's offer is taken
from the supplier's catalog and negotiated with ``ConsumerEdrs.negotiate`` (negotiate-then-
transfer); we wait, without blocking the event loop, for the negotiation to end and the transfer
to start. A refusal keeps the reason the provider gave (the DSP termination carries the policy
explanation) and the offer that was refused.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from sqlmodel import select

from connector.policy.codec import policy_from_compact_dsp
from connector.protocol import Role
from connector.protocol.messages import OfferRef
from connector.services.criteria import EDC_NS, Criterion
from connector.services.errors import ServiceError
from connector.services.queries import QuerySpec
from connector.services.received_edrs import prop
from connector.store.models import Negotiation, TransferProcess

POLL_FIRST, POLL_MAX = 0.02, 0.2  # seconds between looks at a negotiation or transfer row


class Refused(Exception):
    """A step at a supplier that did not give us what we asked for: a tombstone's material."""

    def __init__(self, step: str, detail: str, *, endpoint: str | None = None, policy: dict | None = None,
                 causes: list[str] | None = None) -> None:
        super().__init__(detail)
        self.step, self.detail, self.endpoint, self.policy = step, detail, endpoint, policy
        self.causes = causes or [detail]


@dataclass(frozen=True, slots=True)
class Edr:
    endpoint: str
    token: str
    agreement_id: str
    transfer_id: str
    reused: bool


def offer_of(dataset: dict) -> dict | None:
    offers = dataset.get("hasPolicy", dataset.get("odrl:hasPolicy"))
    offer = offers[0] if isinstance(offers, list) and offers else offers
    return offer if isinstance(offer, dict) else None


class Contracts:
    """EDRs for one connector's consumer side (``services``: the Container)."""

    def __init__(self, services: Any, *, negotiation_timeout: float) -> None:
        self.services = services
        self.negotiation_timeout = negotiation_timeout

    def _cached(self, provider_id: str, asset_id: str) -> Edr | None:
        edrs = self.services.edr_cache
        spec = QuerySpec(limit=50, criteria=(Criterion(EDC_NS + "assetId", "=", asset_id),
                                             Criterion(EDC_NS + "providerId", "=", provider_id)))
        for row, _ in sorted(edrs.entries(spec), key=lambda e: -e[0].created_at):
            if row.state != "STARTED":
                continue
            try:
                address = edrs.data_address(row.id, auto_refresh=True)
            except ServiceError:
                continue  # expired beyond refresh (it is being ended): negotiate anew
            token = prop(address, "authorization")
            if address.get("endpoint") and token:
                return Edr(address["endpoint"], token, row.agreement_id, row.id, True)
        return None

    async def cached(self, provider_id: str, asset_id: str) -> Edr | None:
        return await to_thread.run_sync(self._cached, provider_id, asset_id)

    async def negotiate(self, dsp_url: str, provider_id: str, asset_id: str, offer: dict, bpn: str) -> Edr:
        """Negotiate ``offer`` and wait for its transfer's EDR; Refused with the provider's reason."""
        ref = OfferRef(str(offer.get("@id")), policy_from_compact_dsp(offer), asset_id, provider_id)
        request = {"counterparty_address": dsp_url, "counterparty_id": provider_id, "offer": ref}
        try:
            neg = await to_thread.run_sync(self.services.edr_cache.negotiate, request)
        except ServiceError as exc:
            raise Refused("UsagePolicyValidation", f"we do not accept {bpn}'s offer for {asset_id}: "
                          + "; ".join(exc.reasons), endpoint=dsp_url, policy=offer) from None
        deadline = time.monotonic() + self.negotiation_timeout
        row = await self._wait(lambda s: s.get(Negotiation, neg.id),
                               lambda n: n.state in ("FINALIZED", "TERMINATED"), deadline)
        if row is None:
            raise Refused("UsagePolicyValidation", f"the negotiation for {asset_id} with {bpn} did not end within "
                          f"{self.negotiation_timeout:g} s", endpoint=dsp_url, policy=offer)
        if row.state != "FINALIZED":
            why = row.error_detail or "; ".join((row.error or {}).get("reasons") or []) or "no reason given"
            raise Refused("UsagePolicyValidation", f"{bpn} refused the contract for {asset_id}: {why}",
                          endpoint=dsp_url, policy=offer, causes=(row.error or {}).get("reasons") or [why])
        agreement = row.agreement_id

        def transfer(session):
            return session.exec(select(TransferProcess).where(TransferProcess.role == Role.CONSUMER.value,
                                                              TransferProcess.agreement_id == agreement)).first()

        tp = await self._wait(transfer, lambda t: t.state in ("STARTED", "TERMINATED", "COMPLETED")
                              and (t.state != "STARTED" or t.data_address is not None), deadline)
        if tp is None or tp.state != "STARTED":
            why = (tp.error_detail if tp is not None else None) or "it did not start in time"
            raise Refused("SubmodelRequest", f"the transfer of {asset_id} from {bpn} failed: {why}", endpoint=dsp_url)
        address = tp.data_address or {}
        token = prop(address, "authorization")
        if not address.get("endpoint") or not token:
            raise Refused("SubmodelRequest", f"{bpn} sent an EDR for {asset_id} without endpoint or token",
                          endpoint=dsp_url)
        return Edr(address["endpoint"], token, agreement or "", tp.id, False)

    async def _wait(self, read, done, deadline: float):
        pause = POLL_FIRST
        while True:
            def look():
                with self.services.db.read() as session:
                    return read(session)

            row = await to_thread.run_sync(look)
            if row is not None and done(row):
                return row
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, POLL_MAX)

