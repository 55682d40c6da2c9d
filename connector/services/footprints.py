"""The footprints a supplier publishes: validated, signed, stored and offered, all or nothing per file.

``FootprintService.publish`` takes footprints in any version ``connector.pcf.models`` reads (or rows
of a CSV, ``connector.pcf.csvfile``), turns each into the internal io.catenax.pcf 8.0.0 shape,
signs it with the connector's key (Data Integrity, eddsa-jcs-2022: a PCF is plain JSON), and in one
transaction stores it and offers it: one asset per product (``pcf-<manufacturerPartId>``, dct:type
``cx-taxo:Submodel`` with the PCF aspect as semantic id, served by the data plane from this table)
under a contract definition with the PCF usage policy (``policies/pcf-exchange-usage.json``, or the
one named) and an access policy (``policies/member-access.json``, or the one named).

A new footprint for a product that has an Active one is its update (PACT v3): the new id names the
old in ``precedingPfIds``, the old turns Deprecated (re-signed so), and every customer that
received the old one gets an update (CX-0136 ``update=true``) queued for the exchange worker.

Read API (also for the PACT edge): ``get``, ``list``, ``for_product`` and ``FootprintRecord``.
"""

from __future__ import annotations

import difflib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from connector.pcf.document import part_id, preceding_ids, successor
from connector.services.criteria import EDC_NS
from connector.services.errors import NotFound, ServiceError
from connector.store import Database
from connector.store.models import (
    Asset,
    ContractDefinition,
    Footprint,
    FootprintRecipient,
    PcfExchangeRequest,
    PolicyDefinition,
)

log = logging.getLogger("pontis.pcf")

FOOTPRINT_SOURCE = "PontisFootprint"  # a data address the data plane serves from the footprint table
EXCHANGE_SOURCE = "PontisPcfExchange"  # the CX-0136 exchange API, served by services.pcf_exchange
EXCHANGE_ASSET = "pcf-exchange"
DCT_TYPE = "http://purl.org/dc/terms/type"
CX_TAXO = "https://w3id.org/catenax/taxonomy#"
CX_VERSION = "https://w3id.org/catenax/ontology/common#version"
SEMANTIC_ID = "https://admin-shell.io/aas/3/0/HasSemantics/semanticId"
PART_ID = EDC_NS + "manufacturerPartId"
PCF_ASPECT = "urn:samm:io.catenax.pcf:8.0.0#Pcf"
DEFAULT_USAGE, DEFAULT_ACCESS = "pcf-exchange-usage", "member-access"
POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
JCS = "eddsa-jcs-2022"


class FootprintRefused(ServiceError):
    """A file (or body) of footprints refused as a whole; ``problems`` name row or index, and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("pcf.invalid", *problems)
        self.problems = problems


class NoSigningKey(ServiceError):
    status = 409


@dataclass(frozen=True)
class Incoming:
    """One footprint of a file: where it came from (for messages) and the document as written."""

    where: str  # "[0]" for a JSON array item, "row 3" for a CSV row
    document: Any
    from_csv: bool = False

    def problem(self, path: str, message: str) -> str:
        if self.from_csv:
            from connector.pcf.csvfile import column_for

            return f"{self.where}, column {column_for(path)}: {message}"
        return f"{self.where}: {path or '(document)'}: {message}"


def read_upload(content: bytes | str, *, csv: bool, company_name: str | None, bpn: str | None,
                now: int) -> list[Incoming]:
    """The footprints of a file: a JSON array (or one object) in any version, or a CSV."""
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    if csv:
        from connector.pcf.csvfile import read_csv

        if not company_name or not bpn:
            raise FootprintRefused(["(config): a CSV import needs the company's name and bpn in the config"])
        documents, problems = read_csv(text, company_name=company_name, company_bpn=bpn, now=now_datetime(now))
        if problems:
            raise FootprintRefused([str(p) for p in problems])
        return [Incoming(f"row {row}", doc, from_csv=True) for row, doc in documents]
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FootprintRefused([f"(file): not JSON ({exc}); expected an array of footprints or a CSV"]) from None
    items = data if isinstance(data, list) else [data]
    return [Incoming(f"[{i}]", doc) for i, doc in enumerate(items)]


def asset_id_for(product: str) -> str:
    return f"pcf-{product}"


def template(name: str) -> dict:
    """A policy template from ``policies/`` in the compact DSP form."""
    path = POLICIES_DIR / f"{name}.json"
    data = json.loads(path.read_text())
    return {k: v for k, v in data.items() if k not in ("@context", "@id")}


def ensure_policy(session: Session, named: str | None, default: str, field: str, now: int) -> str:
    """The policy definition to offer under: the one named (it must exist), or the template ``default``
    (stored under its own name the first time)."""
    from connector.policy import policy_from_compact_dsp, policy_to_compact

    if named:
        if session.get(PolicyDefinition, named) is None:
            known = list(session.exec(select(PolicyDefinition.id)))
            close = difflib.get_close_matches(named, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise FootprintRefused([f"{field}: no policy definition {named!r}{hint}"])
        return named
    if session.get(PolicyDefinition, default) is None:
        typed = policy_from_compact_dsp({"@type": "Set", "@id": default, **template(default)})
        session.add(PolicyDefinition(id=default, policy=policy_to_compact(typed, policy_type="Set", policy_id=default),
                                     private_properties={}, created_at=now))
        session.flush()
    return default


def offer_exchange(session: Session, now: int) -> None:
    """Offer our PCF exchange API (to be asked, and to receive answers), once."""
    if session.get(Asset, EXCHANGE_ASSET) is not None:
        return
    usage = ensure_policy(session, None, DEFAULT_USAGE, "policy", now)
    access = ensure_policy(session, None, DEFAULT_ACCESS, "accessPolicy", now)
    session.add(Asset(id=EXCHANGE_ASSET, created_at=now, private_properties={}, properties={
        EDC_NS + "id": EXCHANGE_ASSET, "http://purl.org/dc/terms/title": "PCF exchange API (CX-0136)",
        DCT_TYPE: {"@id": CX_TAXO + "PcfExchange"}, CX_VERSION: "1.1"},
        data_address={"type": EXCHANGE_SOURCE, "proxyPath": "true", "proxyQueryParams": "true",
                      "proxyMethod": "true", "proxyBody": "true"}))
    session.add(ContractDefinition(
        id=f"{EXCHANGE_ASSET}-offer", access_policy_id=access, contract_policy_id=usage, asset_id=EXCHANGE_ASSET,
        assets_selector=[{"operandLeft": EDC_NS + "id", "operator": "=", "operandRight": EXCHANGE_ASSET}],
        private_properties={}, created_at=now))


def ensure_exchange_offer(db: Database, now: int) -> None:
    with db.read() as session:
        if session.get(Asset, EXCHANGE_ASSET) is not None:
            return
    with db.write() as session:
        offer_exchange(session, now)


class FootprintService:
    def __init__(self, db: Database, *, company_name: str | None, bpn: str | None, identity: Any,
                 clock: Callable[[], int]) -> None:
        self.db = db
        self.company_name = company_name
        self.bpn = bpn
        self.identity = identity
        self.clock = clock

    # --- publishing ------------------------------------------------------------------------------

    def _sign(self, document: dict) -> dict:
        """The copy we serve: plain io.catenax.pcf 8.0.0 (nothing carried from other formats), signed."""
        from connector.identity.dataintegrity import sign
        from connector.pcf.models import CARRIED_KEY

        if self.identity is None:
            raise NoSigningKey("pcf.no-key", "footprints are signed with this connector's key, and it has none: "
                                             "set [identity] key_file in the config (connector init writes one; "
                                             "generate_key = true creates it at start)")
        served = {k: v for k, v in document.items() if k != CARRIED_KEY}  # already validated as 8.0.0
        return sign(served, self.identity.key, cryptosuite=JCS, check_jsonld=False)

    def read(self, items: list[Incoming]) -> list[tuple[dict, str]]:
        """Each item as a validated 8.0.0 document with its source format; every problem at once."""
        from connector.pcf.models import FootprintError, detect_format, to_internal

        problems: list[str] = []
        out: list[tuple[dict, str]] = []
        seen: dict[str, str] = {}
        for item in items:
            try:
                fmt = detect_format(item.document)
                doc8 = to_internal(item.document, fmt)
            except FootprintError as exc:
                problems.extend(item.problem(p.path, p.message) for p in exc.problems)
                continue
            for key, label in ((doc8["id"], "id"), (part_id(doc8["productIds"][0]), "productIds")):
                if key in seen and seen[key] != item.where:
                    problems.append(f"{item.where}: {label}: {key!r} is also in {seen[key]}; one footprint per "
                                    "product and id in a file")
                seen.setdefault(key, item.where)
            out.append((doc8, fmt.value))
        if not items:
            problems.append("(file): holds no footprints")
        if problems:
            raise FootprintRefused(problems)
        return out

    def publish(self, items: list[Incoming], *, usage_policy: str | None = None,
                access_policy: str | None = None) -> list[Footprint]:
        """Validate, sign, store and offer every footprint of a file, or none (FootprintRefused)."""
        documents = self.read(items)
        now = self.clock()
        stored: list[Footprint] = []
        explicit = bool(usage_policy or access_policy)
        with self.db.write() as session:
            usage = ensure_policy(session, usage_policy, DEFAULT_USAGE, "policy", now)
            access = ensure_policy(session, access_policy, DEFAULT_ACCESS, "accessPolicy", now)
            offer_exchange(session, now)
            known = _Known.load(session, [doc8 for doc8, _ in documents])
            with session.no_autoflush:  # one read of what exists up front, one write at the end
                for (doc8, fmt), item in zip(documents, items):
                    row = self._store(session, known, doc8, fmt, item.where, now)
                    if row is None:
                        continue  # the very same footprint again: nothing to do
                    self._offer(session, known, row.product_id, usage, access, explicit=explicit, now=now)
                    stored.append(row)
        log.info("published %d footprints (%s)", len(stored),
                 ", ".join(f"{r.product_id}:{r.id}" for r in stored[:20]) + (" ..." if len(stored) > 20 else ""))
        return stored

    def _store(self, session: Session, known: _Known, doc8: dict, fmt: str, where: str, now: int) -> Footprint | None:
        footprint_id = doc8["id"]
        existing = known.footprints.get(footprint_id)
        if existing is not None:
            if existing.document == doc8:
                return None
            raise FootprintRefused([f"{where}: id: footprint {footprint_id} exists with other content; a changed "
                                    "footprint needs a new id (PACT v3: the new one names the old in precedingPfIds)"])
        product = part_id(doc8["productIds"][0])
        active = known.active.get(product)
        if active is not None:
            doc8 = successor(doc8, active.id)
            self._deprecate(session, active, footprint_id, now)
        elif doc8.get("status") == "Deprecated":
            raise FootprintRefused([f"{where}: status: a footprint is published Active; it turns Deprecated "
                                    "when a new one for the same product replaces it"])
        row = Footprint(id=footprint_id, product_id=product, product_ids=list(doc8["productIds"]), status="Active",
                        document=doc8, signed=self._sign(doc8), source_format=fmt, asset_id=asset_id_for(product),
                        preceding_ids=preceding_ids(doc8), created_at=now, updated_at=now)
        session.add(row)
        known.footprints[footprint_id] = known.active[product] = row
        return row

    def _deprecate(self, session: Session, old: Footprint, new_id: str, now: int) -> None:
        old.status, old.superseded_by, old.updated_at = "Deprecated", new_id, now
        old.document = {**old.document, "status": "Deprecated"}
        old.signed = self._sign(old.document)
        session.add(old)
        for recipient in session.exec(select(FootprintRecipient).where(FootprintRecipient.footprint_id == old.id)):
            session.add(PcfExchangeRequest(
                role="supplier", request_id=str(uuid.uuid4()), counterparty_id=recipient.recipient_id,
                counterparty_bpn=recipient.recipient_bpn, product_id=old.product_id, update=True,
                footprint_id=new_id, created_at=now, updated_at=now, next_attempt_at=now))
            log.info("footprint %s replaces %s: %s will be told (update=true)", new_id, old.id, recipient.recipient_id)

    def _offer(self, session: Session, known: _Known, product: str, usage: str, access: str, *, explicit: bool,
               now: int) -> None:
        asset_id = asset_id_for(product)
        if asset_id not in known.assets:
            known.assets.add(asset_id)
            session.add(Asset(id=asset_id, created_at=now, private_properties={}, properties={
                EDC_NS + "id": asset_id, "http://purl.org/dc/terms/title": f"PCF of {product}",
                DCT_TYPE: {"@id": CX_TAXO + "Submodel"}, SEMANTIC_ID: {"@id": PCF_ASPECT},
                CX_VERSION: "8.0.0", PART_ID: product},
                data_address={"type": FOOTPRINT_SOURCE, "productId": product}))
        cd_id = f"{asset_id}-offer"
        cd = known.offers.get(cd_id)
        if cd is None:
            known.offers[cd_id] = cd = ContractDefinition(
                id=cd_id, access_policy_id=access, contract_policy_id=usage, asset_id=asset_id, private_properties={},
                assets_selector=[{"operandLeft": EDC_NS + "id", "operator": "=", "operandRight": asset_id}],
                created_at=now)
            session.add(cd)
        elif explicit:
            cd.access_policy_id, cd.contract_policy_id = access, usage
            session.add(cd)

    # --- reading ----------------------------------------------------------------------------------

    def get(self, footprint_id: str) -> Footprint:
        with self.db.read() as session:
            row = session.get(Footprint, footprint_id)
        if row is None:
            raise NotFound("pcf.unknown", f"no footprint {footprint_id!r} is published here", path="id")
        return row

    def list(self, *, status: str | None = None, product_id: str | None = None, offset: int = 0,
             limit: int = 100) -> list[Footprint]:
        """Our footprints, newest first; ``product_id`` is a manufacturerPartId or a product URN."""
        with self.db.read() as session:
            query = select(Footprint)
            if status:
                query = query.where(Footprint.status == status)
            if product_id:
                query = query.where(Footprint.product_id == part_id(product_id))
            query = query.order_by(col(Footprint.created_at).desc(), col(Footprint.id)).offset(offset).limit(limit)
            return list(session.exec(query))

    def for_product(self, product_id: str) -> Footprint | None:
        """The Active footprint of a product (by manufacturerPartId or product URN)."""
        found = self.list(status="Active", product_id=product_id, limit=1)
        return found[0] if found else None

    def record_delivery(self, session: Session, footprint_id: str, recipient_id: str, recipient_bpn: str | None,
                        now: int) -> None:
        """Remember who received a footprint, so an update reaches them too."""
        if session.exec(select(FootprintRecipient.id).where(FootprintRecipient.footprint_id == footprint_id,
                                                            FootprintRecipient.recipient_id == recipient_id)).first():
            return
        session.add(FootprintRecipient(footprint_id=footprint_id, recipient_id=recipient_id,
                                       recipient_bpn=recipient_bpn, received_at=now))


@dataclass
class _Known:
    """What a file's footprints meet in the store, read in a few queries rather than a few per footprint."""

    footprints: dict[str, Footprint]
    active: dict[str, Footprint]
    assets: set[str]
    offers: dict[str, ContractDefinition]

    @classmethod
    def load(cls, session: Session, documents: list[dict]) -> _Known:
        ids = [d["id"] for d in documents]
        products = sorted({part_id(d["productIds"][0]) for d in documents})
        assets = [asset_id_for(p) for p in products]

        def chunks(values: list[str]):
            return (values[i:i + 500] for i in range(0, len(values), 500))
        footprints = {f.id: f for part in chunks(ids) for f in session.exec(select(Footprint).where(
            col(Footprint.id).in_(part)))}
        active = {f.product_id: f for part in chunks(products) for f in session.exec(select(Footprint).where(
            col(Footprint.product_id).in_(part), Footprint.status == "Active"))}
        known_assets = {a for part in chunks(assets) for a in session.exec(select(Asset.id).where(
            col(Asset.id).in_(part)))}
        offers = {c.id: c for part in chunks([f"{a}-offer" for a in assets]) for c in session.exec(
            select(ContractDefinition).where(col(ContractDefinition.id).in_(part)))}
        return cls(footprints, active, known_assets, offers)


def now_datetime(clock_ms: int) -> datetime:
    return datetime.fromtimestamp(clock_ms / 1000, tz=UTC)


def summary(row: Footprint) -> dict:
    """A footprint as the management API lists it."""
    pcf = row.document.get("pcf", {})
    return {"id": row.id, "productId": row.product_id, "productIds": row.product_ids, "status": row.status,
            "pcfExcludingBiogenicUptake": pcf.get("pcfExcludingBiogenicUptake"),
            "declaredUnit": pcf.get("declaredUnitOfMeasurement"), "declaredUnitAmount": pcf.get("declaredUnitAmount"),
            "precedingPfIds": row.preceding_ids, "supersededBy": row.superseded_by, "assetId": row.asset_id,
            "sourceFormat": row.source_format, "createdAt": row.created_at}
