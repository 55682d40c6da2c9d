"""The provider's catalog: which datasets and offers a requester sees, and what an offer stands for.

Assets are paged by id with a keyset cursor, so a page costs the same at the start and the end
of a 10,000-asset catalog. Contract definitions that select one asset by id are found through
an index; the others (general selectors) are matched in memory against each asset.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlmodel import Session, select

from connector.identity import Participant
from connector.policy import Policy, equivalent, policy_from_compact_dsp, policy_to_compact
from connector.policy.model import canonical_key
from connector.protocol.messages import DSPACE_CONTEXT, OfferRef
from connector.services.criteria import Criterion, matches, parse_criteria
from connector.services.errors import InvalidRequest, NotFound
from connector.services.offers import make_offer_id, parse_offer_id
from connector.store import Database
from connector.store.models import Asset, ContractDefinition, PolicyDefinition

PULL_FORMAT = "HttpData-PULL"


@dataclass(frozen=True, slots=True)
class ResolvedOffer:
    """An offer a consumer asked for, matched to what we publish."""

    offer: OfferRef
    asset_id: str
    contract_definition_id: str
    policy: Policy


def asset_record(asset: Asset) -> dict:
    record = dict(asset.properties or {})
    record["@id"] = asset.id
    return record


class CatalogService:
    def __init__(self, db: Database, participant_id: str, dsp_url: str) -> None:
        self.db = db
        self.participant_id = participant_id
        self.dsp_url = dsp_url
        self.service_id = "urn:pontis:dataservice:" + hashlib.sha256(dsp_url.encode()).hexdigest()[:16]

    # --- what is offered ---------------------------------------------------------------------

    def _definitions_for(self, session: Session, asset_ids: list[str]) -> dict[str, list[ContractDefinition]]:
        indexed = session.exec(select(ContractDefinition).where(ContractDefinition.asset_id.in_(asset_ids)))
        general = list(session.exec(select(ContractDefinition).where(ContractDefinition.asset_id.is_(None))))
        out: dict[str, list[ContractDefinition]] = {aid: [] for aid in asset_ids}
        for cd in indexed:
            out.setdefault(cd.asset_id or "", []).append(cd)
        return out if not general else self._with_general(session, out, general, asset_ids)

    def _with_general(self, session, out, general, asset_ids):  # type: ignore[no-untyped-def]
        assets = {a.id: a for a in session.exec(select(Asset).where(Asset.id.in_(asset_ids)))}
        for cd in general:
            criteria = parse_criteria(cd.assets_selector, "assetsSelector")
            for aid in asset_ids:
                asset = assets.get(aid)
                if asset and all(matches(c, asset_record(asset)) for c in criteria):
                    out[aid].append(cd)
        return out

    def _policies(self, session: Session, ids: set[str]) -> dict[str, Policy]:
        rows = session.exec(select(PolicyDefinition).where(PolicyDefinition.id.in_(list(ids))))
        return {row.id: policy_from_compact_dsp(row.policy) for row in rows}

    def _offers(self, asset: Asset, cds: list[ContractDefinition], policies: dict[str, Policy],
                caller: Participant | None) -> list[dict]:
        offers = []
        for cd in sorted(cds, key=lambda c: c.id):
            policy = policies.get(cd.contract_policy_id)
            if policy is None or cd.access_policy_id not in policies:
                continue  # a definition naming a missing policy offers nothing
            offer_id = make_offer_id(cd.id, asset.id, canonical_key(policy))
            offers.append(policy_to_compact(policy, policy_type="Offer", policy_id=offer_id))
        return offers

    def _dataset(self, asset: Asset, offers: list[dict]) -> dict:
        dataset: dict = {"@id": asset.id, "@type": "Dataset"}
        for key, value in (asset.properties or {}).items():
            if key not in ("@id", "@type"):
                dataset[key] = value
        dataset["hasPolicy"] = offers
        dataset["distribution"] = [
            {"@type": "Distribution", "format": PULL_FORMAT, "accessService": self.service_id}
        ]
        return dataset

    def page(self, caller: Participant | None, cursor: str | None, limit: int) -> tuple[dict, str | None]:
        """One catalog page and the cursor of the next one (None at the end)."""
        limit = max(1, min(limit, 1000))
        datasets: list[dict] = []
        contexts = [DSPACE_CONTEXT]
        after = cursor or ""
        with self.db.read() as session:
            while len(datasets) < limit:
                chunk = list(session.exec(
                    select(Asset).where(Asset.id > after).order_by(Asset.id).limit(limit - len(datasets) + 1)
                ))
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
                    offers = self._offers(asset, cds.get(asset.id, []), policies, caller)
                    if offers:
                        datasets.append(self._dataset(asset, offers))
                after = chunk[-1].id
                if not has_more:
                    after = ""
                    break
            if any(_uses_cx(d) for d in datasets):
                contexts.append("https://w3id.org/catenax/2025/9/policy/context.jsonld")
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
            offers = self._offers(asset, cds[asset.id], self._policies(session, needed), caller)
        if not offers:
            raise NotFound("dataset.unknown", f"no dataset {dataset_id!r} is offered here")
        dataset = self._dataset(asset, offers)
        contexts = [DSPACE_CONTEXT]
        if _uses_cx(dataset):
            contexts.append("https://w3id.org/catenax/2025/9/policy/context.jsonld")
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
            return ResolvedOffer(offer, asset.id, cd.id, published)
        raise InvalidRequest("offer.unknown", f"offer {offer.id!r} is not offered here", path="offer.@id")


def _uses_cx(dataset: dict) -> bool:
    from connector.policy import contexts_for

    for offer in dataset.get("hasPolicy", []):
        if len(contexts_for(policy_from_compact_dsp(offer))) > 1:
            return True
    return False


def criteria_for_asset(asset_id: str) -> list[Criterion]:
    return [Criterion("@id", "=", asset_id)]
