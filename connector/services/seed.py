"""Seed data a connector loads at start: policies, assets and contract definitions from a JSON file.

Used by the TCK profile and the examples. Loading is idempotent: rows that exist are replaced,
so a restarted connector ends with the same offers. Policies are written in the DSP compact
vocabulary (``permission``/``action``/``constraint``, Catena-X terms allowed).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import delete

from connector.policy import policy_from_compact_dsp, policy_to_compact
from connector.services.container import Container
from connector.services.criteria import parse_criteria, single_asset_id
from connector.store.models import Asset, ContractDefinition, PolicyDefinition

log = logging.getLogger("pontis.seed")


class SeedError(ValueError):
    pass


def _id(item: dict, where: str) -> str:
    value = item.get("@id")
    if not isinstance(value, str) or not value:
        raise SeedError(f"{where}.@id: a non-empty string is required")
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
    with services.db.write() as session:
        # replace whatever a previous start seeded, in bulk: a 10,000-asset seed loads in seconds
        for model, rows in ((PolicyDefinition, policies), (Asset, assets), (ContractDefinition, definitions)):
            ids = [row.id for row in rows]
            for chunk in range(0, len(ids), 500):
                session.execute(delete(model).where(model.id.in_(ids[chunk:chunk + 500])))
            session.add_all(rows)
    log.info("seeded %d policies, %d assets, %d contract definitions from %s",
             len(policies), len(assets), len(definitions), path)
