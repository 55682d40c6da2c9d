"""Loading a company's parts: twins, shell descriptors, submodels, their assets and offers, in one go.

A file is a JSON array of ``{"aspect": "<aspect URN>", "payload": {...}, "visibleTo": ["BPNL..."]}``.
Every item is checked first (aspect known, payload valid, BPNs well formed, relationship aspects
about a part this file or an earlier one introduced); only then is everything written, in one
transaction: a refused file leaves nothing behind.

Per part (by globalAssetId/catenaXId, either form): its twin (a shell with a random id, made once),
specificAssetIds from its SerialPart/Batch/PartTypeInformation (manufacturerId = our BPN,
manufacturerPartId, digitalTwinType, customerPartId, partInstanceId, batchId, van, ...), each
visible to the file's ``visibleTo`` BPNs for that part (closed when none), and one submodel
descriptor per aspect, served by the aspect's asset. The registry asset, the aspect assets and
their contract definitions are created when missing; ``policy`` / ``access_policy`` name the
policy definitions their offers use (default: ``part-data-usage`` and ``part-data-access``, made
from the templates in policies/ when missing).
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import delete
from sqlmodel import Session, col, select

from connector.config import DSP_PATH
from connector.parts import models as m
from connector.parts.registry import Registry, asset_id_values, external_subject, insert_asset_ids
from connector.parts.serving import REGISTRY_SOURCE, SUBMODEL_SOURCE
from connector.policy import policy_from_compact_dsp, policy_to_compact
from connector.services.errors import InvalidRequest, NotFound
from connector.store.models import Asset, ContractDefinition, PartTwin, PolicyDefinition, TwinAssetId, TwinSubmodel

log = logging.getLogger("pontis.parts")

REGISTRY_ASSET_ID = "digital-twin-registry"
DCT_TYPE = "http://purl.org/dc/terms/type"
CX_TAXO = "https://w3id.org/catenax/taxonomy#"
CX_VERSION = "https://w3id.org/catenax/ontology/common#version"
SEMANTIC_ID = "https://admin-shell.io/aas/3/0/HasSemantics/semanticId"
DEFAULT_USAGE, DEFAULT_ACCESS = "part-data-usage", "part-data-access"
TEMPLATES = Path(__file__).resolve().parents[2] / "policies"
DEFAULT_TEMPLATES = {DEFAULT_USAGE: "industry-core-usage.json", DEFAULT_ACCESS: "member-access.json"}
BPNL = re.compile(r"^BPNL[A-Za-z0-9]{12}$")
ITEM_KEYS = ("aspect", "payload", "visibleTo")
# local identifiers that become specificAssetIds of the same name (manufacturerId is our BPN instead)
LOCAL_IDS = ("partInstanceId", "batchId", "van", "jisNumber", "jisCallDate", "parentOrderNumber")


@dataclass
class Item:
    index: int
    model: m.AspectModel
    payload: dict
    visible_to: list[str]

    @property
    def part(self) -> str:
        return m.part_id(self.model, self.payload)


@dataclass
class Plan:
    """What one part gets from the file."""

    part: str
    items: list[Item] = field(default_factory=list)

    @property
    def visible_to(self) -> list[str]:
        return sorted({bpn for item in self.items for bpn in item.visible_to})


def read_items(items: Any) -> list[Item]:
    """The file's items, checked; InvalidRequest naming ``[index].field`` at the first bad one."""
    if not isinstance(items, list):
        raise InvalidRequest("parts.file", "body: expected a JSON array of {aspect, payload, visibleTo}", path="body")
    out = []
    for i, raw in enumerate(items):
        where = f"[{i}]"
        if not isinstance(raw, dict):
            raise InvalidRequest("parts.item", f"{where}: expected an object with aspect, payload, visibleTo", path=where)
        for key in raw:
            if key not in ITEM_KEYS:
                close = difflib.get_close_matches(key, ITEM_KEYS, n=1, cutoff=0.5)
                hint = f"closest: {close[0]}" if close else f"known: {', '.join(ITEM_KEYS)}"
                raise InvalidRequest("parts.item", f"{where}.{key}: unknown key ({hint})", path=f"{where}.{key}")
        try:
            model = m.aspect(raw.get("aspect"), f"{where}.aspect")
            payload = m.validate(model, raw.get("payload"), f"{where}.payload")
        except m.PartDataError as exc:
            raise InvalidRequest("parts.invalid", str(exc), path=exc.field) from None
        visible = raw.get("visibleTo", [])
        if not isinstance(visible, list):
            raise InvalidRequest("parts.visibleTo", f"{where}.visibleTo: expected an array of BPNLs",
                                 path=f"{where}.visibleTo")
        for j, bpn in enumerate(visible):
            if not isinstance(bpn, str) or not BPNL.match(bpn):
                raise InvalidRequest("parts.visibleTo", f"{where}.visibleTo[{j}]: expected a legal entity's BPN like "
                                     f"BPNL00000ACHSEAG, got {bpn!r}", path=f"{where}.visibleTo[{j}]")
        out.append(Item(i, model, payload, list(visible)))
    return out


def _policy_row(session: Session, policy_id: str, now: int, role: str) -> None:
    """Make sure policy definition ``policy_id`` exists (a default one is made from its template)."""
    if session.get(PolicyDefinition, policy_id) is not None:
        return
    if policy_id not in DEFAULT_TEMPLATES:
        known = list(session.exec(select(PolicyDefinition.id)))
        close = difflib.get_close_matches(policy_id, known, n=1, cutoff=0.5)
        hint = f"closest: {close[0]}" if close else "create it first (POST /management/v3/policydefinitions)"
        raise NotFound("parts.policy", f"{role}: no policy definition {policy_id!r} ({hint})", path=role)
    doc = json.loads((TEMPLATES / DEFAULT_TEMPLATES[policy_id]).read_text())
    doc = {k: v for k, v in doc.items() if k != "@context"} | {"@id": policy_id}
    policy = policy_from_compact_dsp(doc)
    session.add(PolicyDefinition(id=policy_id, policy=policy_to_compact(policy, policy_type="Set", policy_id=policy_id),
                                 private_properties={}, created_at=now))


def _offer(session: Session, asset: Asset, usage: str | None, access: str | None, now: int) -> None:
    """The asset and its contract definition; named policies replace the ones it had."""
    existing = session.get(Asset, asset.id)
    if existing is None:
        session.add(asset)
    else:
        existing.properties, existing.data_address = asset.properties, asset.data_address
        session.add(existing)
    cd_id = f"offer-{asset.id}"
    cd = session.get(ContractDefinition, cd_id)
    if cd is None:
        cd = ContractDefinition(id=cd_id, access_policy_id=access or DEFAULT_ACCESS,
                                contract_policy_id=usage or DEFAULT_USAGE, asset_id=asset.id, private_properties={},
                                assets_selector=[{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
                                                  "operandRight": asset.id}], created_at=now)
    cd.access_policy_id = access or cd.access_policy_id
    cd.contract_policy_id = usage or cd.contract_policy_id
    session.add(cd)
    _policy_row(session, cd.access_policy_id, now, "accessPolicy")
    _policy_row(session, cd.contract_policy_id, now, "policy")


def registry_asset(company: str | None, now: int) -> Asset:
    return Asset(id=REGISTRY_ASSET_ID, private_properties={}, data_address={"type": REGISTRY_SOURCE}, created_at=now,
                 properties={DCT_TYPE: {"@id": CX_TAXO + "DigitalTwinRegistry"}, CX_VERSION: "3.0",
                             "http://purl.org/dc/terms/title": f"Digital Twin Registry of {company or 'this connector'}"})


def submodel_asset(model: m.AspectModel, now: int) -> Asset:
    return Asset(id=model.asset_id, private_properties={}, created_at=now,
                 data_address={"type": SUBMODEL_SOURCE, "aspect": model.urn},
                 properties={DCT_TYPE: {"@id": CX_TAXO + "Submodel"}, SEMANTIC_ID: {"@id": model.urn},
                             "http://purl.org/dc/terms/title": f"{model.name} {model.version} submodels"})


def submodel_descriptor(descriptor_id: str, model: m.AspectModel, part: str, public_url: str) -> dict:
    return {"id": descriptor_id, "idShort": model.name[0].lower() + model.name[1:],
            "semanticId": {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": model.urn}]},
            "endpoints": [{"interface": "SUBMODEL-3.0", "protocolInformation": {
                "href": f"{public_url}/api/public/parts/{quote(part, safe=':')}/submodel",
                "endpointProtocol": "HTTP", "endpointProtocolVersion": ["1.1"], "subprotocol": "DSP",
                "subprotocolBody": f"id={model.asset_id};dspEndpoint={public_url}{DSP_PATH}",
                "subprotocolBodyEncoding": "plain"}}]}


def specific_asset_ids(parts: list[m.Part], own_bpn: str | None, visible_to: list[str]) -> list[dict]:
    pairs: dict[str, str] = {}
    if own_bpn:
        pairs["manufacturerId"] = own_bpn
    for part in parts:
        pairs["digitalTwinType"] = part.twin_type
        for name, value in (("manufacturerPartId", part.manufacturer_part_id), ("customerPartId", part.customer_part_id)):
            if value:
                pairs[name] = value
        for name in LOCAL_IDS:
            if part.local_ids.get(name):
                pairs[name] = part.local_ids[name]
    subject = external_subject(visible_to)
    return [{"name": k, "value": v, **({"externalSubjectId": subject} if subject else {})} for k, v in pairs.items()]


class PartImporter:
    def __init__(self, registry: Registry, *, bpn: str | None, company: str | None, public_url: str) -> None:
        self.registry = registry
        self.bpn = bpn
        self.company = company
        self.public_url = public_url.rstrip("/")

    def run(self, raw_items: Any, *, policy: str | None = None, access_policy: str | None = None) -> dict:
        items = read_items(raw_items)
        plans: dict[str, Plan] = {}
        for item in items:
            plans.setdefault(m.normal_id(item.part), Plan(item.part)).items.append(item)
        now = self.registry.clock()
        created: list[str] = []
        updated: list[str] = []
        with self.registry.db.write() as session:
            with session.no_autoflush:  # the twins are written in one flush, in bulk
                twins = {row.global_key: row for chunk in _chunks(list(plans)) for row in
                         session.exec(select(PartTwin).where(col(PartTwin.global_key).in_(chunk)))}
                for key, plan in plans.items():
                    if key not in twins and not any(i.model.role == m.IDENTITY for i in plan.items):
                        raise _unknown(plan)
                known = [twin.id for twin in twins.values()]
                stored: dict[str, dict[str | None, TwinSubmodel]] = {}
                for chunk in _chunks(known):
                    for row in session.exec(select(TwinSubmodel).where(col(TwinSubmodel.twin_id).in_(chunk))):
                        stored.setdefault(row.twin_id, {})[row.semantic_id] = row
                    session.execute(delete(TwinAssetId).where(col(TwinAssetId.twin_id).in_(chunk)))
                index: list[dict] = []
                for key, plan in plans.items():
                    (updated if key in twins else created).append(plan.part)
                    index += self._twin(session, twins.get(key), key, plan, stored, now)
                insert_asset_ids(session, index)
            session.flush()
            models = {item.model.urn: item.model for item in items}
            _offer(session, registry_asset(self.company, now), policy, access_policy, now)
            for model in models.values():
                _offer(session, submodel_asset(model, now), policy, access_policy, now)
        log.info("imported %d items: %d twins created, %d updated", len(items), len(created), len(updated))
        return {"created": created, "updated": updated, "submodels": len(items),
                "assets": [REGISTRY_ASSET_ID, *sorted(m.asset_id for m in models.values())]}

    def _twin(self, session: Session, twin: PartTwin | None, key: str, plan: Plan,
              stored: dict[str, dict[str | None, TwinSubmodel]], now: int) -> list[dict]:
        """Write the twin and its submodels; answer its look-up index rows, for one bulk insert."""
        twin = twin or PartTwin(id=f"urn:uuid:{uuid.uuid4()}", global_key=key, descriptor={}, created_at=now)
        mine = stored.get(twin.id, {})
        payloads = {urn: row.payload for urn, row in mine.items() if urn in m.ASPECTS and row.payload is not None}
        payloads.update({item.model.urn: item.payload for item in plan.items})
        parts = [m.read_part(m.ASPECTS[urn], p) for urn, p in sorted(payloads.items())
                 if m.ASPECTS[urn].role == m.IDENTITY]
        kind = "Type" if parts and all(p.twin_type == m.PART_TYPE for p in parts) else "Instance"
        name = next((p.name for p in parts if p.name), None)
        descriptor = {"id": twin.id, "globalAssetId": plan.part, "assetKind": kind,
                      "specificAssetIds": specific_asset_ids(parts, self.bpn, plan.visible_to),
                      **({"displayName": [{"language": "en", "text": name[:128]}]} if name else {})}
        # keep what staff added by hand (description, idShort, ...)
        twin.descriptor, twin.updated_at = {**(twin.descriptor or {}), **descriptor}, now
        session.add(twin)
        for item in plan.items:
            row = mine.get(item.model.urn)
            row = row or TwinSubmodel(id=f"urn:uuid:{uuid.uuid4()}", twin_id=twin.id, semantic_id=item.model.urn,
                                      descriptor={}, created_at=now)
            row.descriptor = submodel_descriptor(row.id, item.model, plan.part, self.public_url)
            row.payload, row.updated_at = item.payload, now
            session.add(row)
        return asset_id_values(twin.id, descriptor)


def _unknown(plan: Plan) -> NotFound:
    """A relationship aspect about a part with no twin here: 404 naming the part and its item."""
    first = plan.items[0]
    where = f"[{first.index}].payload.{first.model.id_key}"
    return NotFound("parts.unknown", f"{where}: part {plan.part} is unknown here; import its SerialPart, Batch or "
                                     "PartTypeInformation first (or in the same file)", path=where)


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def import_parts(container: Any, items: Any, *, policy: str | None = None, access_policy: str | None = None) -> dict:
    """Import a file's items into a running connector's ``container`` (see the module docstring)."""
    return container.parts.importer.run(items, policy=policy, access_policy=access_policy)
