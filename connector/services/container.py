"""Everything one running connector holds, built once from its settings."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, cast

from connector.config import Settings
from connector.identity import Authenticator, Participant, StaticTokenAuthenticator
from connector.identity.credential_service import CredentialService
from connector.identity.did import DidResolutionError, DidResolver
from connector.identity.wallet import LocalIdentity, identity_from_settings
from connector.mqtt.service import endpoints as broker_endpoints
from connector.parts.service import Parts, build_parts
from connector.protocol.retry import RetryPolicy
from connector.services.accepted import AcceptedPolicies
from connector.services.catalog import CatalogService
from connector.services.dataflow import DataFlowService
from connector.services.dataflow.mqtt import BrokerEndpoints, MqttStreams
from connector.services.dcp_wiring import agreement_policy, dcp_authentication
from connector.services.definitions import DefinitionService
from connector.services.documents import DocumentSigner
from connector.services.edr_cache import ConsumerEdrs, EdrSweepingWorker
from connector.services.edr_tokens import EdrIssuer
from connector.services.footprints import FootprintService
from connector.services.groups import GroupService
from connector.services.negotiation import NegotiationService
from connector.services.outbox import Dispatch
from connector.services.pcf_client import PcfClient
from connector.services.pcf_exchange import PcfExchange, serve_on
from connector.services.peers import PeerDirectory, PeerTokenAuthenticator, peer_directory
from connector.services.playbook import Playbook
from connector.services.policy_dry_run import Explainer
from connector.services.queries import QueryService
from connector.services.received_edrs import TokenRefresher
from connector.services.remote_catalog import RemoteCatalog
from connector.services.replay import DatabaseReplayCache
from connector.services.secrets import EDR_KEY_ENV, edr_key_path
from connector.services.signed_offers import OfferSigner, OfferVerifier, SigningAfterWrites
from connector.services.ssrf import OutgoingGuard, dsp_bases_of
from connector.services.transfer import FORMATS, PULL, TransferService
from connector.services.transport import DocumentFetch, DspClient, make_client
from connector.store import Database
from connector.store.models import Negotiation, TransferProcess

log = logging.getLogger("pontis")


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Container:
    """One running connector's services, built once by ``build``; nothing is set on it afterwards."""

    settings: Settings
    db: Database
    authenticator: Authenticator
    catalog: CatalogService
    negotiations: NegotiationService
    transfers: TransferService
    edrs: EdrIssuer
    client: DspClient
    worker: EdrSweepingWorker
    # our DID, keys and credentials, when a key file is configured
    identity: LocalIdentity | None
    # the provider's data plane: pull requests, EDR refresh, pushes (connector.services.dataflow)
    dataflows: DataFlowService
    # the consumer's EDR cache: negotiate-then-transfer, EDR lookup and refresh
    edr_cache: ConsumerEdrs
    # the SSRF rule every outgoing call and every peer's callbackAddress passes (services.ssrf)
    guard: OutgoingGuard
    # as consumer: checks a provider's proof on an offer before we negotiate (services.signed_offers)
    offer_verifier: OfferVerifier
    # carbon footprints: what we publish, what we ask suppliers for, the CX-0136 exchange
    pcf: FootprintService
    pcf_client: PcfClient
    pcf_exchange: PcfExchange
    # part data: the Digital Twin Registry, served submodels, the importer
    parts: Parts
    # the known peers: [[peers]] merged with those added at run time
    peers: PeerDirectory
    # what we publish (assets, policies, contract definitions); every write re-signs the offers that changed
    definitions: DefinitionService
    # staff's read-only view of negotiations, agreements and transfer processes
    queries: QueryService
    # a peer's catalog, read over DSP (the offers' proofs remembered for the negotiation)
    remote_catalog: RemoteCatalog
    # the policies we accept as consumer, and the business partner groups
    accepted: AcceptedPolicies
    groups: GroupService
    # what a policy would decide for a participant, for staff
    policy_dry_run: Explainer
    # DCP: answers presentation queries (connector.identity.credential_service), with a DID and keys
    credential_service: CredentialService | None
    # the jti replay cache every replica shares (connector.services.replay.DatabaseReplayCache)
    replay: DatabaseReplayCache


def announced_dsp_urls(resolver: DidResolver) -> Callable[[str], list[str]]:
    """The DSP URLs a caller's DID document announces (cached by the resolver), or none."""

    def announced(participant_id: str) -> list[str]:
        if not participant_id.startswith("did:web:"):
            return []
        try:
            return dsp_bases_of(resolver.resolve(participant_id))
        except DidResolutionError:
            return []
    return announced


def _offer_signer(settings: Settings, db: Database, identity: LocalIdentity | None) -> OfferSigner | None:
    """Our catalog's offers are signed with a key whose DID is our participant id."""
    suite = settings.identity.offer_cryptosuite
    if identity is not None and suite != "off" and identity.did == settings.participant_id:
        return OfferSigner(db, identity, settings.participant_id, suite)
    return None


def _offer_verifier(settings: Settings, identity: LocalIdentity | None, guard: OutgoingGuard) -> OfferVerifier:
    """The verifier of the offers we negotiate (resolving providers' DIDs through the guard)."""
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


def sts_callers(identity: LocalIdentity, replay: DatabaseReplayCache) -> Callable[[str, float], str]:
    """The DID behind a self-issued token addressed to us (connector.identity.dcp.SelfIssuedTokens)."""
    from connector.identity.dcp import SelfIssuedTokens

    tokens = SelfIssuedTokens(identity.did, identity.resolver, replay)
    return lambda token, now: tokens.verify(token, now)[0]


def refresh_client_token(authenticator: Any) -> Callable[[str, str], str] | None:
    """In dcp mode our EDR refreshes carry a self-issued token (our STS's) with the access token in it."""
    sts = getattr(authenticator, "sts", None)
    if sts is None:
        return None
    return lambda audience, access: sts.self_issued_token(audience, token=access)


def process_token_for(db: Database, authenticator: Authenticator, per_counterparty: bool) -> Callable[[str], str | None]:
    """The worker's Authorization value for a message of a process. In dcp mode a token is made
    for the process's counterparty (its DID is the token's audience); static mode has one token."""
    if not per_counterparty:
        return lambda _pid: authenticator.outgoing_token(None)
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


def build(settings: Settings, *, clock: Callable[[], int] = wall_clock_ms, client: DspClient | None = None,
          playbook: Playbook | None = None) -> Container:
    """Every service of one connector, each built once, in dependency order. ``playbook``: the
    script of automatic answers (the TCK profile passes its own, connector.tck); else ``[playbook]``."""
    db = Database(settings.database_url)
    peers = peer_directory(settings, db)
    # peers added at run time may be on loopback or a private network, as configured ones may
    guard = OutgoingGuard.from_settings(settings, runtime_peers=lambda: [(p.id, p.dsp_url) for p in peers.all()])
    identity = identity_from_settings(settings, DocumentFetch(guard))
    if identity is not None:  # a caller's DID document may announce its DSP URL (callback check)
        guard = replace(guard, announced=announced_dsp_urls(identity.resolver))
    dcp = settings.identity.dcp
    dcp_authenticator, credential_service, replay = dcp_authentication(settings, db, identity, guard)
    authenticator: Authenticator = dcp_authenticator if dcp else PeerTokenAuthenticator(peers, settings.token)
    catalog = CatalogService(db, settings.participant_id, settings.dsp_url,
                             signer=_offer_signer(settings, db, identity))
    offer_verifier = _offer_verifier(settings, identity, guard)
    playbook = playbook or Playbook(settings.playbook, settings.playbook_delay_ms)
    retry = RetryPolicy(base_seconds=settings.retry_base_seconds, limit=settings.retry_limit)
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
    if edr_key_path(settings) is None and not os.environ.get(EDR_KEY_ENV):
        log.warning("the EDR signing key is kept in the database: set [dataplane] edr_key_file (a file "
                    "all replicas share) or %s to keep it out", EDR_KEY_ENV)
    edrs = EdrIssuer(settings.participant_id, settings.public_url, settings.edr_ttl_seconds,
                     settings.dataplane.refresh_ttl_seconds, key_file=edr_key_path(settings))
    if identity is not None and dcp:  # a refresh may come with the consumer's STS token (Factory-X ADR 002)
        edrs.callers = sts_callers(identity, replay)
    document_signer = DocumentSigner(identity) if settings.dataplane.sign_documents and identity is not None else None
    dataflows = DataFlowService(db, edrs, settings.dataplane, clock=clock, owner=settings.worker_owner,
                                signer=document_signer)
    # ADR 012 streams: our broker's URLs as connector.mqtt tells peers, IdPs through the guard
    dataflows.mqtt = MqttStreams(edrs, BrokerEndpoints(settings.mqtt, broker_endpoints), guard=guard)
    transfers = TransferService(
        db,
        dispatch=dispatch,
        participant_id=settings.participant_id,
        callback_url=settings.dsp_url,
        playbook=playbook,
        clock=clock,
        retry=retry,
        flows=dataflows,
        # Factory-X ADR 002: the catalog's HttpData-PULL is the only format a transfer may ask
        offered_formats=(PULL,) if settings.profile.dataspace == "factory-x" else FORMATS,
    )
    dataflows.transfers = transfers  # each needs the other: the data plane ends the transfers it serves
    edr_cache = ConsumerEdrs(db, negotiations, transfers, clock=clock,
                                 margin_seconds=settings.edr_refresh_margin_seconds,
                                 grace_seconds=settings.edr_refresh_grace_seconds,
                                 refresher=TokenRefresher(guard=guard, client_token=refresh_client_token(
                                     dcp_authenticator if dcp else None)))
    negotiations.subscribe(edr_cache.finalized)  # "negotiation finalized" starts the /v3/edrs transfer
    # the container's client obeys the container's rule, however its HTTP client was built
    client = DspClient(client.client if client is not None else make_client(settings.transport, guard=guard), guard)
    worker = EdrSweepingWorker([negotiations, transfers], client, process_token_for(db, authenticator, dcp),
                               batch=settings.worker_batch, lease_ms=lease_ms, dispatch=dispatch,
                               retention_ms=int(settings.server.replay_window_hours * 3_600_000),
                               sweep=edr_cache.sweep, sweep_seconds=settings.edr_sweep_seconds)
    parts = build_parts(settings, db, clock=clock, identity=identity, sources=dataflows.sources)
    footprints = FootprintService(db, company_name=settings.name, bpn=settings.bpn, identity=identity,
                                  clock=negotiations.clock)
    pcf_client = PcfClient(settings, db, RemoteCatalog(client, authenticator), guard=guard, identity=identity,
                           negotiations=negotiations, transfers=transfers, edr_cache=edr_cache)
    pcf_exchange = PcfExchange(db, footprints, pcf_client, clock=negotiations.clock)
    serve_on(dataflows.sources, pcf_exchange)
    definitions = cast(DefinitionService, SigningAfterWrites(  # a proxy with every DefinitionService method
        DefinitionService(db, clock=clock, dataplane=settings.dataplane, broker=dataflows.mqtt.broker),
        catalog.warm_proofs))
    return Container(settings, db, authenticator, catalog, negotiations, transfers, edrs, client, worker,
                     identity=identity, dataflows=dataflows, edr_cache=edr_cache, guard=guard,
                     offer_verifier=offer_verifier, pcf=footprints, pcf_client=pcf_client,
                     pcf_exchange=pcf_exchange, parts=parts, peers=peers, definitions=definitions,
                     queries=QueryService(db), remote_catalog=RemoteCatalog(client, authenticator, offer_verifier),
                     accepted=AcceptedPolicies(db, clock), groups=GroupService(db, clock),
                     policy_dry_run=Explainer(db, catalog.gate, settings, peers),
                     credential_service=credential_service, replay=replay)
