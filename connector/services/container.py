"""Everything one running connector holds, built once from its settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.config import Settings
from connector.identity import Authenticator, Participant, StaticTokenAuthenticator
from connector.protocol.retry import RetryPolicy
from connector.services.catalog import CatalogService
from connector.services.edr import EdrIssuer
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
    # our DID, keys and credentials (connector.identity.wallet.LocalIdentity), when a key file is configured
    identity: Any = None
    # the provider's data plane: pull requests, EDR refresh, pushes (connector.services.dataflow)
    dataflows: Any = None
    # the consumer's EDR cache: negotiate-then-transfer, EDR lookup and refresh (connector.services.consumer_edrs)
    consumer_edrs: Any = None
    # the known peers: [[peers]] merged with those added at run time (connector.services.peers.PeerDirectory)
    peers: Any = None


def static_authenticator(settings: Settings) -> StaticTokenAuthenticator:
    tokens = {
        peer.token: Participant(peer.id, {"bpn": peer.bpn, **peer.claims})
        for peer in settings.peers
        if peer.token
    }
    return StaticTokenAuthenticator(tokens, settings.token)


def process_token_for(db: Database, authenticator: Authenticator, per_counterparty: bool) -> Callable[[str], str | None]:
    """The worker's Authorization value for a message of a process. In dcp mode a token is made
    for the process's counterparty (its DID is the token's audience); static mode has one token."""
    if not per_counterparty:
        return lambda _pid: authenticator.outgoing_token(None)
    from connector.store.models import Negotiation, TransferProcess

    counterparties: dict[str, str] = {}  # a process's counterparty never changes

    def token_for(process_id: str) -> str | None:
        counterparty = counterparties.get(process_id)
        if counterparty is None:
            with db.read() as session:
                row = session.get(Negotiation, process_id) or session.get(TransferProcess, process_id)
            if row is None:
                return None
            if len(counterparties) > 10_000:
                counterparties.clear()
            counterparty = counterparties[process_id] = row.counterparty_id
        return authenticator.outgoing_token(counterparty)

    return token_for


def build(settings: Settings, *, clock=wall_clock_ms, client: DspClient | None = None) -> Container:  # type: ignore[no-untyped-def]
    db = Database(settings.database_url)
    from connector.identity.dcp import dcp_authenticator_from_settings
    from connector.identity.wallet import identity_from_settings

    identity = identity_from_settings(settings)
    dcp = settings.identity.auth_mode == "dcp"
    from connector.services.peers import PeerTokenAuthenticator, peer_directory

    peers = peer_directory(settings, db)
    authenticator = (dcp_authenticator_from_settings(settings, identity) if dcp
                     else PeerTokenAuthenticator(peers, settings.token))
    catalog = CatalogService(db, settings.participant_id, settings.dsp_url)
    if settings.tck:  # the TCK profile's scripts may name a sequence of actions for one event (TP:01-04)
        from connector.services.tck import SequencedPlaybook

        playbook: Playbook = SequencedPlaybook(settings.playbook, settings.playbook_delay_ms)
    else:
        playbook = Playbook(settings.playbook, settings.playbook_delay_ms)
    retry = RetryPolicy(base_seconds=settings.retry_base_seconds, limit=settings.retry_limit)
    from connector.services.consumer_edrs import ConsumerEdrs, EdrNegotiationService, EdrSweepingWorker

    negotiations = EdrNegotiationService(  # a NegotiationService that starts the /v3/edrs transfers
        db,
        participant_id=settings.participant_id,
        callback_url=settings.dsp_url,
        catalog=catalog,
        playbook=playbook,
        clock=clock,
        retry=retry,
        identity=identity,
        require_signed_agreements=settings.identity.require_signed_agreements,
        unresolvable_signers_ok=not dcp,
    )
    edrs = EdrIssuer(settings.participant_id, settings.public_url, settings.edr_ttl_seconds,
                     settings.dataplane.refresh_ttl_seconds)
    from connector.services.dataflow import DataFlowService

    dataflows = DataFlowService(db, edrs, settings.dataplane, clock=clock, owner=settings.worker_owner)
    if settings.dataplane.sign_documents and identity is not None:
        from connector.services.documents import DocumentSigner

        dataflows.sources.signer = DocumentSigner(identity)
    transfers = TransferService(
        db,
        participant_id=settings.participant_id,
        callback_url=settings.dsp_url,
        playbook=playbook,
        clock=clock,
        retry=retry,
        flows=dataflows,
    )
    dataflows.transfers = transfers
    consumer_edrs = ConsumerEdrs(db, negotiations, transfers, clock=clock,
                                 margin_seconds=settings.edr_refresh_margin_seconds,
                                 grace_seconds=settings.edr_refresh_grace_seconds)
    negotiations.edrs = consumer_edrs
    client = client or DspClient(make_client(settings.transport))
    worker = EdrSweepingWorker([negotiations, transfers], client, process_token_for(db, authenticator, dcp),
                               batch=settings.worker_batch, owner=settings.worker_owner,
                               sweep=consumer_edrs.sweep, sweep_seconds=settings.edr_sweep_seconds)
    negotiations.wake = transfers.wake = worker.wake
    return Container(settings, db, authenticator, catalog, negotiations, transfers, edrs, client, worker,
                     identity=identity, dataflows=dataflows, consumer_edrs=consumer_edrs, peers=peers)
