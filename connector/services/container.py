"""Everything one running connector holds, built once from its settings."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from connector.config import Settings
from connector.identity import Authenticator, Participant, StaticTokenAuthenticator
from connector.protocol.retry import RetryPolicy
from connector.services.catalog import CatalogService
from connector.services.edr import EdrIssuer
from connector.services.negotiation import NegotiationService
from connector.services.playbook import Playbook
from connector.services.ssrf import OutgoingGuard
from connector.services.transfer import TransferService
from connector.services.transport import DocumentFetch, DspClient, make_client
from connector.services.worker import OutboxWorker
from connector.store import Database

log = logging.getLogger("pontis")


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
    # the SSRF rule every outgoing call and every peer's callbackAddress passes (services.ssrf)
    guard: OutgoingGuard = OutgoingGuard()
    # as consumer: checks a provider's proof on an offer before we negotiate (services.signed_offers)
    offer_verifier: Any = None
    # carbon footprints: what we publish, what we ask suppliers for, the CX-0136 exchange (services.pcf_exchange)
    pcf: Any = None
    pcf_client: Any = None
    pcf_exchange: Any = None
    # part data: the Digital Twin Registry, served submodels, the importer (connector.parts.service.Parts)
    parts: Any = None
    # the known peers: [[peers]] merged with those added at run time (connector.services.peers.PeerDirectory)
    peers: Any = None
    # DCP: answers presentation queries (connector.identity.credential_service), with a DID and keys
    credential_service: Any = None
    # the jti replay cache every replica shares (connector.services.replay.DatabaseReplayCache)
    replay: Any = None


def announced_dsp_urls(resolver: Any) -> Callable[[str], list[str]]:
    """The DSP URLs a caller's DID document announces (cached by the resolver), or none."""
    from connector.identity.did import DidResolutionError
    from connector.services.ssrf import dsp_bases_of

    def announced(participant_id: str) -> list[str]:
        if not participant_id.startswith("did:web:"):
            return []
        try:
            return dsp_bases_of(resolver.resolve(participant_id))
        except DidResolutionError:
            return []
    return announced


def _offer_side(settings: Settings, db: Database, catalog: CatalogService, identity: Any, guard: OutgoingGuard) -> Any:
    """Sign our catalog's offers (with a key whose DID is our participant id); the verifier of
    the offers we negotiate (resolving providers' DIDs through the guard)."""
    from connector.identity.did import DidResolver
    from connector.services.signed_offers import OfferSigner, OfferVerifier

    suite = settings.identity.offer_cryptosuite
    if identity is not None and suite != "off" and identity.did == settings.participant_id:
        catalog.signer = OfferSigner(db, identity, settings.participant_id, suite)
    resolver = identity.resolver if identity is not None else DidResolver(
        allow_insecure_localhost=settings.identity.allow_insecure_did_web,
        ttl_seconds=settings.identity.did_cache_seconds, fetch=DocumentFetch(guard))
    unresolvable_ok = not settings.identity.dcp and not settings.identity.require_signed_agreements
    return OfferVerifier(resolver, settings.identity.offer_verification, unresolvable_ok=unresolvable_ok)


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
    from connector.services.dcp_wiring import agreement_policy
    from connector.store.models import Negotiation, TransferProcess

    # a process's counterparty never changes; the policy at stake (DCP scopes) is its offer's
    counterparties: dict[str, tuple[str, dict | None]] = {}
    scoped = getattr(authenticator, "outgoing_token_for", None)

    def token_for(process_id: str) -> str | None:
        known = counterparties.get(process_id)
        if known is None:
            with db.read() as session:
                row = session.get(Negotiation, process_id) or session.get(TransferProcess, process_id)
                if row is None:
                    return None
                # a negotiation's offer, or the agreement a transfer is under
                at_stake = row.offer if isinstance(row, Negotiation) else agreement_policy(session, row.agreement_id)
            if len(counterparties) > 10_000:
                counterparties.clear()
            known = counterparties[process_id] = (row.counterparty_id, at_stake)
        if scoped is not None:
            return scoped(known[0], known[1])
        return authenticator.outgoing_token(known[0])

    return token_for


def build(settings: Settings, *, clock=wall_clock_ms, client: DspClient | None = None) -> Container:  # type: ignore[no-untyped-def]
    db = Database(settings.database_url)
    from connector.identity.wallet import identity_from_settings
    from connector.services.peers import PeerTokenAuthenticator, peer_directory

    peers = peer_directory(settings, db)
    # peers added at run time may be on loopback or a private network, as configured ones may
    guard = OutgoingGuard.from_settings(settings, runtime_peers=lambda: [(p.id, p.dsp_url) for p in peers.all()])
    identity = identity_from_settings(settings, DocumentFetch(guard))
    if identity is not None:  # a caller's DID document may announce its DSP URL (callback check)
        guard = replace(guard, announced=announced_dsp_urls(identity.resolver))
    dcp = settings.identity.dcp
    from connector.services.dcp_wiring import dcp_authentication

    dcp_authenticator, credential_service, replay = dcp_authentication(settings, db, identity, guard)
    authenticator = dcp_authenticator if dcp else PeerTokenAuthenticator(peers, settings.token)
    catalog = CatalogService(db, settings.participant_id, settings.dsp_url)
    offer_verifier = _offer_side(settings, db, catalog, identity, guard)
    if settings.tck:  # the TCK profile's scripts may name a sequence of actions for one event (TP:01-04)
        from connector.services.tck import SequencedPlaybook

        playbook: Playbook = SequencedPlaybook(settings.playbook, settings.playbook_delay_ms)
    else:
        playbook = Playbook(settings.playbook, settings.playbook_delay_ms)
    retry = RetryPolicy(base_seconds=settings.retry_base_seconds, limit=settings.retry_limit)
    from connector.services.consumer_edrs import ConsumerEdrs, EdrSweepingWorker
    from connector.services.edr_client import TokenRefresher
    from connector.services.outbox import Dispatch

    lease_ms = int(settings.worker_lease_seconds * 1000)
    dispatch = Dispatch(settings.worker_owner, lease_ms)  # what the services queue goes to this node's sender in memory
    negotiations = NegotiationService(
        db,
        dispatch=dispatch,
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
    from connector.services.secrets import EDR_KEY_ENV, edr_key_path

    if edr_key_path(settings) is None and not os.environ.get(EDR_KEY_ENV):
        log.warning("the EDR signing key is kept in the database: set [dataplane] edr_key_file (a file "
                    "all replicas share) or %s to keep it out", EDR_KEY_ENV)
    edrs = EdrIssuer(settings.participant_id, settings.public_url, settings.edr_ttl_seconds,
                     settings.dataplane.refresh_ttl_seconds, key_file=edr_key_path(settings))
    from connector.services.dataflow import DataFlowService

    dataflows = DataFlowService(db, edrs, settings.dataplane, clock=clock, owner=settings.worker_owner)
    if settings.dataplane.sign_documents and identity is not None:
        from connector.services.documents import DocumentSigner

        dataflows.sources.signer = DocumentSigner(identity)
    transfers = TransferService(
        db,
        dispatch=dispatch,
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
                                 grace_seconds=settings.edr_refresh_grace_seconds,
                                 refresher=TokenRefresher(guard=guard))
    negotiations.subscribe(consumer_edrs.finalized)  # "negotiation finalized" starts the /v3/edrs transfer
    client = client or DspClient(make_client(settings.transport, guard=guard))
    client.guard = guard  # the container's client obeys the container's rule, however it was built
    worker = EdrSweepingWorker([negotiations, transfers], client, process_token_for(db, authenticator, dcp),
                               batch=settings.worker_batch, lease_ms=lease_ms, dispatch=dispatch,
                               retention_ms=int(settings.server.replay_window_hours * 3_600_000),
                               sweep=consumer_edrs.sweep, sweep_seconds=settings.edr_sweep_seconds)
    from connector.parts.service import build_parts

    parts = build_parts(settings, db, clock=clock, identity=identity, sources=dataflows.sources)
    container = Container(settings, db, authenticator, catalog, negotiations, transfers, edrs, client, worker,
                          identity=identity, dataflows=dataflows, consumer_edrs=consumer_edrs, guard=guard,
                          offer_verifier=offer_verifier, parts=parts, peers=peers,
                          credential_service=credential_service, replay=replay)
    from connector.services.pcf_exchange import attach

    attach(container)
    return container
