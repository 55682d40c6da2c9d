"""Everything one running connector holds, built once from its settings."""

from __future__ import annotations

import time
from dataclasses import dataclass

from connector.config import Settings
from connector.identity import Authenticator, Participant, StaticTokenAuthenticator
from connector.protocol.retry import RetryPolicy
from connector.services.catalog import CatalogService
from connector.services.edr import EdrIssuer, ProviderDataFlows
from connector.services.negotiation import NegotiationService
from connector.services.playbook import Playbook
from connector.services.transport import DspClient, make_client
from connector.services.transfer import TransferService
from connector.services.worker import OutboxWorker
from connector.store import Database


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Container:
    settings: Settings
    db: Database
    authenticator: Authenticator
    catalog: CatalogService
    negotiations: NegotiationService
    transfers: TransferService
    edrs: EdrIssuer
    client: DspClient
    worker: OutboxWorker


def static_authenticator(settings: Settings) -> StaticTokenAuthenticator:
    tokens = {
        peer.token: Participant(peer.id, {"bpn": peer.bpn, **peer.claims})
        for peer in settings.peers
        if peer.token
    }
    return StaticTokenAuthenticator(tokens, settings.token)


def build(settings: Settings, *, clock=wall_clock_ms, client: DspClient | None = None) -> Container:  # type: ignore[no-untyped-def]
    db = Database(settings.database_url)
    authenticator = static_authenticator(settings)
    catalog = CatalogService(db, settings.participant_id, settings.dsp_url)
    playbook = Playbook(settings.playbook, settings.playbook_delay_ms)
    retry = RetryPolicy(base_seconds=settings.retry_base_seconds, limit=settings.retry_limit)
    negotiations = NegotiationService(
        db,
        participant_id=settings.participant_id,
        callback_url=settings.dsp_url,
        catalog=catalog,
        playbook=playbook,
        clock=clock,
        retry=retry,
    )
    edrs = EdrIssuer(settings.participant_id, settings.public_url, settings.edr_ttl_seconds)
    transfers = TransferService(
        db,
        participant_id=settings.participant_id,
        callback_url=settings.dsp_url,
        playbook=playbook,
        clock=clock,
        retry=retry,
        flows=ProviderDataFlows(edrs),
    )
    client = client or DspClient(make_client(settings.transport))
    worker = OutboxWorker([negotiations, transfers], client, lambda _pid: authenticator.outgoing_token(None),
                          batch=settings.worker_batch, owner=settings.worker_owner)
    negotiations.wake = transfers.wake = worker.wake
    return Container(settings, db, authenticator, catalog, negotiations, transfers, edrs, client, worker)
