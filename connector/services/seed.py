"""Seed data a connector loads at start: policies, assets, contract definitions and agreements from a JSON file.

Used by the TCK profile and the examples. Loading is idempotent: rows that exist are replaced,
so a restarted connector ends with the same offers. Policies are written in the DSP compact
vocabulary (``permission``/``action``/``constraint``, Catena-X terms allowed).

``agreements`` are agreements that exist before any negotiation, as the DSP TCK's transfer
scenarios need (ATP... with us as provider, ATPC... with us as consumer)::

    {"@id": "ATP0101", "assetId": "ACN0101", "providerId": "...", "consumerId": "...",
     "policy": {"permission": [{"action": "use"}]}}
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import delete
from sqlmodel import col

from connector.policy import policy_from_compact_dsp, policy_to_compact
from connector.services.container import Container
from connector.services.criteria import parse_criteria, single_asset_id
from connector.services.definitions import id_problem
from connector.store.models import Agreement, Asset, ContractDefinition, PolicyDefinition

log = logging.getLogger("pontis.seed")


class SeedError(ValueError):
    pass


def _id(item: dict, where: str) -> str:
    value = item.get("@id")
    if not isinstance(value, str) or not value:
        raise SeedError(f"{where}.@id: a non-empty string is required")
    problem = id_problem(value)
    if problem:
        raise SeedError(f"{where}.@id: {problem}")
    return value


def load_seed(services: Container, path: str | Path) -> None:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SeedError(f"{path}: cannot read seed file: {exc}") from exc
    now = services.negotiations.clock()
    policies = []
    for i, item in enumerate(data.get("policies", [])):
        pid = _id(item, f"policies[{i}]")
        typed = policy_from_compact_dsp({"@type": "Set", "@id": pid, **item.get("policy", {})})
        policies.append(PolicyDefinition(
            id=pid, policy=policy_to_compact(typed, policy_type="Set", policy_id=pid),
            private_properties={}, created_at=now))
    assets = [
        Asset(id=_id(item, f"assets[{i}]"), properties=item.get("properties", {}),
              private_properties=item.get("privateProperties", {}),
              data_address=item.get("dataAddress", {"type": "HttpData"}), created_at=now)
        for i, item in enumerate(data.get("assets", []))
    ]
    definitions = []
    for i, item in enumerate(data.get("contractDefinitions", [])):
        where = f"contractDefinitions[{i}]"
        criteria = parse_criteria(item.get("assetsSelector", []), f"{where}.assetsSelector")
        for key in ("accessPolicyId", "contractPolicyId"):
            if not isinstance(item.get(key), str):
                raise SeedError(f"{where}.{key}: a policy id string is required")
        definitions.append(ContractDefinition(
            id=_id(item, where), access_policy_id=item["accessPolicyId"], contract_policy_id=item["contractPolicyId"],
            assets_selector=[c.to_json() for c in criteria], asset_id=single_asset_id(criteria),
            private_properties={}, created_at=now))
    agreements = [_agreement(item, f"agreements[{i}]", now) for i, item in enumerate(data.get("agreements", []))]
    with services.db.write() as session:
        # replace whatever a previous start seeded, in bulk: a 10,000-asset seed loads in seconds
        for model, rows in ((PolicyDefinition, policies), (Asset, assets), (ContractDefinition, definitions),
                            (Agreement, agreements)):
            ids = [row.id for row in rows]
            for chunk in range(0, len(ids), 500):
                session.execute(delete(model).where(col(model.id).in_(ids[chunk:chunk + 500])))
            session.add_all(rows)
    log.info("seeded %d policies, %d assets, %d contract definitions, %d agreements from %s",
             len(policies), len(assets), len(definitions), len(agreements), path)
    services.catalog.warm_proofs()  # the seeded offers are signed now, not on the first catalog request


def _agreement(item: dict, where: str, now: int) -> Agreement:
    """An agreement reached outside this connector's negotiations (the TCK's ATP.../ATPC...)."""
    agreement_id = _id(item, where)
    for key in ("assetId", "providerId", "consumerId"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise SeedError(f"{where}.{key}: a non-empty string is required")
    rules = item.get("policy") or {"permission": [{"action": "use"}]}
    policy_from_compact_dsp({"@type": "Agreement", **rules})  # refuse a policy that cannot be read, now
    doc = {"@id": agreement_id, "@type": "Agreement", "target": item["assetId"], "assigner": item["providerId"],
           "assignee": item["consumerId"], **{k: v for k, v in rules.items() if not k.startswith("@")}}
    return Agreement(id=agreement_id, negotiation_id=f"seed:{agreement_id}", asset_id=item["assetId"],
                     provider_id=item["providerId"], consumer_id=item["consumerId"], policy=doc,
                     signing_date=int(item.get("signingDate") or now), created_at=now)
