"""The provider's catalog: which datasets and offers a requester sees, and what an offer stands for.

Assets are paged by id with a keyset cursor, so a page costs the same at the start and the end
of a 10,000-asset catalog. Contract definitions that select one asset by id are found through
an index; the others (general selectors) are matched in memory against each asset.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy
from sqlalchemy import Row
from sqlmodel import Session, col, select

from connector.identity import Participant
from connector.policy import Policy, contexts_for, equivalent, policy_from_compact_dsp, policy_to_compact
from connector.policy.model import canonical_key
from connector.protocol.messages import DSPACE_CONTEXT, OfferRef
from connector.services.criteria import Criterion, matches, parse_criteria
from connector.services.errors import InvalidRequest, NotFound
from connector.services.groups import groups_of
from connector.services.offers import make_offer_id, parse_offer_id
from connector.services.usage import AccessGate, stored_policy
from connector.store import Database
from connector.store.models import Asset, ContractDefinition, PolicyDefinition

if TYPE_CHECKING:
    from connector.services.signed_offers import OfferSigner

log = logging.getLogger("pontis.catalog")

PULL_FORMAT = "HttpData-PULL"
MQTT_FORMAT = "Mqtt-PULL"  # an asset whose data address is Mqtt (Factory-X ADR 012)
MQTT_AAS = "https://w3id.org/factoryx/types/mqtt-aas"  # ADR 011 events on an ADR 012 stream
DCT_TYPE = "http://purl.org/dc/terms/type"
# the data address's type, read with a page of assets without reading the addresses themselves
ADDRESS_TYPE = col(Asset.data_address)["type"].as_string().label("address_type")
CD_COLUMNS = (col(ContractDefinition.id), col(ContractDefinition.access_policy_id),
              col(ContractDefinition.contract_policy_id), col(ContractDefinition.asset_id),
              col(ContractDefinition.assets_selector))
# a plain row of CD_COLUMNS, not an ORM object: a page reads hundreds of rows and only looks at them
DefinitionRow = Row[Any]
# a plain row of (Asset.id, Asset.properties), or an Asset
AssetRow = Row[Any] | Asset


@dataclass(frozen=True, slots=True)
class ResolvedOffer:
    """An offer a consumer asked for, matched to what we publish."""

    offer: OfferRef
    asset_id: str
    contract_definition_id: str
    policy: Policy
    access_policy: Policy | None = None


def asset_record(asset: AssetRow) -> dict[str, Any]:
    record = dict(asset.properties or {})
    record["@id"] = asset.id
    return record


class CatalogService:
    def __init__(self, db: Database, participant_id: str, dsp_url: str, gate: AccessGate | None = None,
                 signer: OfferSigner | None = None) -> None:
        self.db = db
        self.gate = gate or AccessGate(lambda: int(time.time() * 1000))
        self.participant_id = participant_id
        self.dsp_url = dsp_url
        self.service_id = "urn:pontis:dataservice:" + hashlib.sha256(dsp_url.encode()).hexdigest()[:16]
        # our proofs on the offers, when we have a key
        self.signer = signer
        self._warm = threading.Lock()
        self._warming = self._warm_again = False

    def every_offer(self, chunk: int = 500) -> list[tuple[str, dict]]:
        """(dataset id, offer) for every offer we publish, whoever may see it."""
        out: list[tuple[str, dict]] = []
        after = ""
        with self.db.read() as session:
            while True:
                assets = session.execute(select(Asset.id, Asset.properties).where(Asset.id > after)
                                         .order_by(Asset.id).limit(chunk)).all()
                if not assets:
                    return out
                cds = self._definitions_for(session, [a.id for a in assets])
                policies = self._policies(session, {p for lst in cds.values() for cd in lst
                                                    for p in (cd.access_policy_id, cd.contract_policy_id)})
                for asset in assets:
                    for cd in cds.get(asset.id, []):
                        policy = policies.get(cd.contract_policy_id)
                        if policy is not None and cd.access_policy_id in policies:
                            offer_id = make_offer_id(cd.id, asset.id, _offer_key(policy))
                            out.append((asset.id, policy_to_compact(policy, policy_type="Offer", policy_id=offer_id)))
                after = assets[-1].id

    def warm_proofs(self) -> None:
        """After a write (asset, policy, contract definition, seed): sign the offers that changed,
        in the background, so that catalog requests only look proofs up."""
        if self.signer is None:
            return
        with self._warm:
            self._warm_again = True
            if self._warming:
                return  # the running pass goes round once more
            self._warming = True
        threading.Thread(target=self._warm_loop, name="offer-proofs", daemon=True).start()

    def _warm_loop(self) -> None:
        signer = self.signer
        if signer is None:
            return
        while True:
            with self._warm:
                if not self._warm_again:
                    self._warming = False
                    return
                self._warm_again = False
            try:
                signer.attach(self.every_offer())
            except Exception:  # a failed pass leaves the offers to be signed when first served
                log.exception("signing the catalog's offers failed")

    def _sign(self, datasets: list[dict]) -> None:
        if self.signer is not None:
            self.signer.attach((d["@id"], offer) for d in datasets for offer in d["hasPolicy"])

    # --- what is offered ---------------------------------------------------------------------

    def _definitions_for(self, session: Session, asset_ids: list[str]) -> dict[str, list[DefinitionRow]]:
        return definitions_for(session, asset_ids)

    def _policies(self, session: Session, ids: set[str]) -> dict[str, Policy]:
        rows = session.execute(select(PolicyDefinition.id, PolicyDefinition.policy)
                               .where(col(PolicyDefinition.id).in_(list(ids)))).all()
        return {row.id: stored_policy(row.policy) for row in rows}

    def _offers(self, asset: AssetRow, cds: list[DefinitionRow], policies: dict[str, Policy],
                caller: Participant | None, groups: frozenset[str], hidden: list[str]) -> list[dict]:
        offers = []
        for cd in sorted(cds, key=lambda c: c.id):
            policy = policies.get(cd.contract_policy_id)
            access = policies.get(cd.access_policy_id)
            if policy is None or access is None:
                continue  # a definition naming a missing policy offers nothing
            decision = self.gate.decide(access, caller.claims if caller else {}, groups, "catalog")
            if not decision.allowed:
                # hidden without a word to the requester; the reason is for our own admin
                hidden.append(f"{asset.id} ({cd.id}): " + "; ".join(d.text for d in decision.denials))
                continue
            offer_id = make_offer_id(cd.id, asset.id, _offer_key(policy))
            offers.append(policy_to_compact(policy, policy_type="Offer", policy_id=offer_id))
        return offers

    def _dataset(self, asset: AssetRow, offers: list[dict]) -> dict:
        dataset: dict = {"@id": asset.id, "@type": "Dataset"}
        for key, value in (asset.properties or {}).items():
            if key not in ("@id", "@type"):
                dataset[key] = value
        dataset["hasPolicy"] = offers
        distribution: dict = {"@type": "Distribution", "format": PULL_FORMAT, "accessService": self.service_id}
        if _address_type(asset) == "Mqtt":
            distribution["format"] = MQTT_FORMAT
            if _carries_aas_events(asset.properties or {}):
                distribution[DCT_TYPE] = {"@id": MQTT_AAS}
        dataset["distribution"] = [distribution]
        return dataset

    def page(self, caller: Participant | None, cursor: str | None, limit: int) -> tuple[dict, str | None]:
        """One catalog page and the cursor of the next one (None at the end)."""
        limit = max(1, min(limit, 1000))
        datasets: list[dict] = []
        hidden: list[str] = []
        if caller is not None:
            self.gate.remember(caller.id, caller.claims)
        contexts = [DSPACE_CONTEXT]
        after = cursor or ""
        with self.db.read() as session:
            groups = groups_of(session, caller.bpn if caller else None)
            while len(datasets) < limit:
                chunk = session.execute(
                    select(Asset.id, Asset.properties, ADDRESS_TYPE).where(Asset.id > after).order_by(Asset.id)
                    .limit(limit - len(datasets) + 1)
                ).all()
                if not chunk:
                    after = ""
                    break
                has_more = len(chunk) > limit - len(datasets)
                chunk = chunk[: limit - len(datasets)]
                ids = [a.id for a in chunk]
                cds = self._definitions_for(session, ids)
                needed = {p for lst in cds.values() for cd in lst for p in (cd.access_policy_id, cd.contract_policy_id)}
                policies = self._policies(session, needed)
                for asset in chunk:
                    offers = self._offers(asset, cds.get(asset.id, []), policies, caller, groups, hidden)
                    if offers:
                        datasets.append(self._dataset(asset, offers))
                after = chunk[-1].id
                if not has_more:
                    after = ""
                    break
            if any(_uses_cx(d) for d in datasets):
                contexts.append("https://w3id.org/catenax/2025/9/policy/context.jsonld")
        self._sign(datasets)
        if hidden:
            log.info("catalog for %s: %d offer(s) hidden by their access policy: %s", caller.id if caller else "?",
                     len(hidden), " | ".join(hidden[:5]) + (" | ..." if len(hidden) > 5 else ""))
            if not datasets and caller is not None:  # the admin's hint: the caller sees an empty catalog
                log.warning("catalog for %s is empty because access policies hide every offer; see why with "
                            "`connector policy explain --policy ACCESS_POLICY_ID --as %s`; in static-token mode "
                            "the caller's claims come from its peer entry (claims = {...} under [[peers]], or "
                            "`connector peer add ... --claims`)", caller.id, caller.id)
        catalog: dict = {
            "@context": contexts,
            "@id": "urn:pontis:catalog:" + hashlib.sha256(self.participant_id.encode()).hexdigest()[:16],
            "@type": "Catalog",
            "participantId": self.participant_id,
            "service": [{"@id": self.service_id, "@type": "DataService", "endpointURL": self.dsp_url}],
        }
        if datasets:
            catalog["dataset"] = datasets
        return catalog, (after or None)

    def dataset(self, caller: Participant | None, dataset_id: str) -> dict:
        with self.db.read() as session:
            asset = session.get(Asset, dataset_id)
            if asset is None:
                raise NotFound("dataset.unknown", f"no dataset {dataset_id!r} is offered here")
            cds = self._definitions_for(session, [asset.id])
            needed = {p for cd in cds[asset.id] for p in (cd.access_policy_id, cd.contract_policy_id)}
            groups = groups_of(session, caller.bpn if caller else None)
            hidden: list[str] = []
            offers = self._offers(asset, cds[asset.id], self._policies(session, needed), caller, groups, hidden)
            if hidden:
                log.info("dataset %s hidden from %s: %s", dataset_id, caller.id if caller else "?", " | ".join(hidden))
        if not offers:
            raise NotFound("dataset.unknown", f"no dataset {dataset_id!r} is offered here")
        dataset = self._dataset(asset, offers)
        contexts = [DSPACE_CONTEXT]
        if _uses_cx(dataset):
            contexts.append("https://w3id.org/catenax/2025/9/policy/context.jsonld")
        self._sign([dataset])
        return {"@context": contexts, **dataset}

    # --- what an offer stands for --------------------------------------------------------------

    def resolve(self, session: Session, offer: OfferRef) -> ResolvedOffer:
        """Match a requested offer to a published one, or say exactly why it does not match."""
        for reading in parse_offer_id(offer.id):
            cd = session.get(ContractDefinition, reading.contract_definition_id)
            asset = session.get(Asset, reading.asset_id)
            if cd is None or asset is None:
                continue
            if cd.asset_id is not None and cd.asset_id != asset.id:
                continue
            if cd.asset_id is None and not all(
                matches(c, asset_record(asset)) for c in parse_criteria(cd.assets_selector, "assetsSelector")
            ):
                continue
            if offer.target is not None and offer.target != asset.id:
                raise InvalidRequest(
                    "offer.target", f"offer {offer.id} is for dataset {asset.id!r}, but its target is {offer.target!r}",
                    path="offer.target",
                )
            row = session.get(PolicyDefinition, cd.contract_policy_id)
            if row is None:
                break
            published = policy_from_compact_dsp(row.policy)
            if not equivalent(published, offer.policy):
                raise InvalidRequest(
                    "offer.policy.mismatch",
                    f"the policy of offer {offer.id} differs from the one published for dataset {asset.id!r}; "
                    "send the offer exactly as the catalog shows it",
                    path="offer",
                )
            access_row = session.get(PolicyDefinition, cd.access_policy_id)
            access = policy_from_compact_dsp(access_row.policy) if access_row else None
            return ResolvedOffer(offer, asset.id, cd.id, published, access)
        raise InvalidRequest("offer.unknown", f"offer {offer.id!r} is not offered here", path="offer.@id")


def _address_type(asset: AssetRow) -> str | None:
    if isinstance(asset, Asset):
        return (asset.data_address or {}).get("type")
    return getattr(asset, "address_type", None)


def _carries_aas_events(properties: dict) -> bool:
    """The asset says its stream carries AAS events: ``dct:type`` ``…/factoryx/types/mqtt-aas``."""
    kinds = properties.get(DCT_TYPE)
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if (kind.get("@id") if isinstance(kind, dict) else kind) == MQTT_AAS:
            return True
    return False


def _uses_cx(dataset: dict) -> bool:
    for offer in dataset.get("hasPolicy", []):
        if len(contexts_for(stored_policy(offer))) > 1:
            return True
    return False


@lru_cache(maxsize=65536)
def _offer_key(policy: Policy) -> str:
    return canonical_key(policy)


def criteria_for_asset(asset_id: str) -> list[Criterion]:
    return [Criterion("@id", "=", asset_id)]


def definitions_for(session: Session, asset_ids: Collection[str]) -> dict[str, list[DefinitionRow]]:
    """asset id -> the contract definitions that select it: those indexed by its id, and the
    general ones (no single asset id) whose criteria match the asset's properties."""
    asset_ids = list(asset_ids)
    indexed = session.execute(sqlalchemy.select(*CD_COLUMNS).where(col(ContractDefinition.asset_id).in_(asset_ids)))
    general = session.execute(sqlalchemy.select(*CD_COLUMNS).where(col(ContractDefinition.asset_id).is_(None))).all()
    out: dict[str, list[DefinitionRow]] = {aid: [] for aid in asset_ids}
    for cd in indexed:
        out.setdefault(cd.asset_id or "", []).append(cd)
    if general:
        assets = {a.id: a for a in session.exec(select(Asset).where(col(Asset.id).in_(asset_ids)))}
        for cd in general:
            criteria = parse_criteria(cd.assets_selector, "assetsSelector")
            for aid in asset_ids:
                asset = assets.get(aid)
                if asset and all(matches(c, asset_record(asset)) for c in criteria):
                    out[aid].append(cd)
    return out
