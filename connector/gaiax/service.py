"""Gaia-X wiring from the settings: the guarded resolver and client, the shapes, and the offering
credentials generated from our catalog (the assets we offer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlmodel import select

from connector.identity.did import DidResolver
from connector.services.ssrf import OutgoingGuard
from connector.services.transport import DocumentFetch
from connector.store.db import Database
from connector.store.models import Asset

from . import store
from .clients import GaiaxClient, guard_for
from .credentials import Issuing, data_product, service_offering, subjects_of
from .jose import sign_vc
from .onboarding import Onboarded, OnboardingError, onboard
from .shapes import ShapesValidator, ShapeViolation, validator
from .web import gaiax_key


def _urls(gx: Any) -> list[str]:
    return [gx.notary_url, gx.compliance_url, gx.registry_url]


def resolver_for(settings: Any) -> DidResolver:
    guard = guard_for(OutgoingGuard.from_settings(settings), _urls(settings.gaiax))
    return DidResolver(allow_insecure_localhost=settings.identity.allow_insecure_did_web,
                       fetch=DocumentFetch(guard, max_bytes=1 << 20), ttl_seconds=60)


def client_for(settings: Any, transport: httpx.BaseTransport | None = None) -> GaiaxClient:
    gx = settings.gaiax
    return GaiaxClient(gx.notary_url, gx.compliance_url, gx.registry_url, OutgoingGuard.from_settings(settings),
                       timeout=gx.timeout_seconds, transport=transport)


def shapes_for(settings: Any) -> ShapesValidator:
    return validator(settings.gaiax.shapes_file, settings.gaiax.ontology_file)


def onboard_with_settings(settings: Any, db: Database, now: datetime) -> Onboarded:
    if settings.gaiax is None:
        raise OnboardingError("config", "there is no [gaiax] section in the config")
    client = client_for(settings)
    try:
        return onboard(settings.gaiax, gaiax_key(settings), settings.public_url, client, resolver_for(settings), db,
                       now, shapes_for(settings))
    finally:
        client.close()


def offering_credentials(settings: Any, db: Database, now: datetime, terms_url: str, terms_hash: str) -> list[str]:
    """Sign and store a ServiceOffering for the connector and a DataProduct per asset, after the shapes
    check; needs a stored onboarding (the offerings name our LegalPerson as provider)."""
    legal = store.load(db, "legal-person")
    if not legal:
        raise OnboardingError("offerings", "no LegalPerson credential is stored: run `connector gaiax onboard` first")
    from .jose import peek

    provider = peek(legal[-1].jwt)[1]["credentialSubject"]["id"]
    key = gaiax_key(settings)
    issuing = Issuing(key.did, settings.public_url, now, settings.gaiax.credential_validity_days)
    offering = service_offering(issuing, provider, settings.dsp_url, terms_url, terms_hash,
                                settings.name or settings.participant_id)
    with db.read() as session:
        assets = list(session.exec(select(Asset).order_by(Asset.id)))
    products = [data_product(issuing, provider, settings.dsp_url, a.id, a.properties or {}, terms_url, terms_hash)
                for a in assets]
    # the provider link needs its class in the graph: our LegalPerson (and its registration number) go along
    ours = [peek(c.jwt)[1] for c in (*legal, *store.load(db, "registration"))]
    try:
        shapes_for(settings).check(subjects_of([offering, *products, *ours]))
    except ShapeViolation as exc:
        raise OnboardingError("shapes", str(exc)) from None
    offering_jwt, product_jwts = sign_vc(offering, key), [sign_vc(p, key) for p in products]
    store.add(db, "service-offering", [offering_jwt])
    store.add(db, "data-product", product_jwts)
    return [offering_jwt, *product_jwts]


def store_peer_claims(db: Database, peer_id: str, claims: dict[str, Any]) -> None:
    """Merge a verified label's claims into a peer added at run time (``connector peer add``), so
    that its policies see them (static-token mode: a peer's claims are what we believe of it)."""
    from connector.store.models import StoredPeer

    with db.write() as session:
        row = session.get(StoredPeer, peer_id)
        if row is None:
            raise OnboardingError("peer", f"no peer {peer_id!r} was added at run time (`connector peer add`); "
                                          "for a [[peers]] entry of the config, put the claims there")
        row.claims = {**(row.claims or {}), **claims}
        session.add(row)
