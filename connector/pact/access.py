"""Which footprints a PACT client sees, filtered and paged as PACT v3 lists them.

A PACT client acts for one customer BPN, so it sees a footprint exactly when that BPN would both
see its offer in our catalog (the access policy, scope ``catalog``) and be allowed to agree to it
(the usage policy, scope ``contract.negotiation``), judged with the same claims the connector
holds for that BPN: the configured peer's claims, and the claims that peer last proved to us
(dcp mode). A footprint it may not see is absent from lists and "not found" by id; the reason is
logged for our own admin, as with hidden catalog offers.

Footprints are read from the ``footprint`` table that ``services.footprints`` writes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from connector.config import Settings
from connector.services.catalog import definitions_for
from connector.services.groups import groups_of
from connector.services.usage import evaluate, stored_policy
from connector.store import Database
from connector.store.models import Footprint, PolicyDefinition

log = logging.getLogger("pontis.pact")

LIST_FILTERS = ("productId", "companyId", "geography", "classification", "validOn", "validAfter", "validBefore",
                "status")
MULTI_VALUED = ("productId", "companyId", "geography", "classification")
PAGING = ("limit", "offset")


class BadFilter(ValueError):
    """A filter or paging parameter that cannot be used; the message names it."""


def parse_time(name: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadFilter(f"{name}: {value!r} is not a date-time like 2025-01-31T00:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """PACT v3 filters: OR within a parameter, AND between parameters; string matches ignore case."""

    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    valid_on: datetime | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    status: str | None = None

    @classmethod
    def from_params(cls, params: Iterable[tuple[str, str]]) -> Filters:
        values: dict[str, list[str]] = {}
        times: dict[str, datetime] = {}
        status = None
        for name, value in params:
            if name in MULTI_VALUED:
                values.setdefault(name, []).append(value)
            elif name in ("validOn", "validAfter", "validBefore"):
                times[name] = parse_time(name, value)
            elif name == "status":
                status = value
        return cls({k: tuple(v) for k, v in values.items()}, times.get("validOn"), times.get("validAfter"),
                   times.get("validBefore"), status)

    @classmethod
    def from_event(cls, data: dict) -> Filters:
        params: list[tuple[str, str]] = []
        for name in LIST_FILTERS:
            value = data.get(name)
            if value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                if not isinstance(item, str):
                    raise BadFilter(f"data.{name}: expected strings, got {item!r}")
                params.append((name, item))
        return cls.from_params(params)

    def selects_all(self) -> bool:
        return self == Filters()

    def matches(self, doc8: dict) -> bool:
        pcf = doc8.get("pcf") or {}
        fields = {
            "productId": doc8.get("productIds") or [],
            "companyId": doc8.get("companyIds") or [],
            "classification": doc8.get("productClassifications") or [],
            "geography": [pcf.get(k) for k in ("geographyRegionOrSubregion", "geographyCountry",
                                                "geographyCountrySubdivision") if pcf.get(k)],
        }
        for name, wanted in self.values.items():
            have = {str(v).lower() for v in fields[name]}
            if not any(w.lower() in have for w in wanted):
                return False
        if self.status is not None and str(doc8.get("status", "")).lower() != self.status.lower():
            return False
        if self.valid_on or self.valid_after or self.valid_before:
            start, end = validity(doc8)
            if self.valid_on and not (start <= self.valid_on <= end):
                return False
            if self.valid_after and not start > self.valid_after:
                return False
            if self.valid_before and not end < self.valid_before:
                return False
        return True


def validity(doc8: dict) -> tuple[datetime, datetime]:
    """PACT's validity period: validityPeriodStart (else created) to validityPeriodEnd (else 3 years
    after the reference period's end)."""
    start = parse_time("validityPeriodStart", doc8.get("validityPeriodStart") or doc8["created"])
    if doc8.get("validityPeriodEnd"):
        return start, parse_time("validityPeriodEnd", doc8["validityPeriodEnd"])
    reference_end = parse_time("referencePeriodEnd", doc8["pcf"]["referencePeriodEnd"])
    return start, reference_end + timedelta(days=3 * 365)


def claims_for(settings: Settings, last_claims: dict[str, dict], bpn: str) -> dict:
    """The claims the connector holds for a BPN: its configured peer's, and what that peer last proved."""
    claims: dict = {"bpn": bpn}
    for peer in settings.peers:
        if peer.bpn == bpn:
            claims.update(peer.claims)
            claims.update(last_claims.get(peer.id, {}))
            claims["bpn"] = bpn
    return claims


class FootprintView:
    """The footprints one BPN may see, judged per request (policies and footprints change)."""

    def __init__(self, db: Database, settings: Settings, last_claims: dict[str, dict]) -> None:
        self.db = db
        self.settings = settings
        self.last_claims = last_claims

    def allowed_assets(self, session: Session, bpn: str, asset_ids: set[str], now_ms: int) -> dict[str, str | None]:
        """asset id -> None when the BPN may have it, else why not."""
        claims = claims_for(self.settings, self.last_claims, bpn)
        groups = groups_of(session, bpn)
        definitions = definitions_for(session, asset_ids)
        policy_ids = {p for cds in definitions.values() for cd in cds for p in (cd.access_policy_id, cd.contract_policy_id)}
        policies = {row.id: stored_policy(row.policy) for row in session.execute(
            select(PolicyDefinition.id, PolicyDefinition.policy).where(col(PolicyDefinition.id).in_(list(policy_ids))))}
        judged: dict[tuple[str, str], list[str]] = {}  # most footprints share a few policy pairs

        def denials(access_id: str, usage_id: str) -> list[str]:
            if (access_id, usage_id) not in judged:
                access, usage = policies.get(access_id), policies.get(usage_id)
                if access is None or usage is None:
                    judged[access_id, usage_id] = ["names a policy that does not exist"]
                else:
                    judged[access_id, usage_id] = [
                        d.text for scope, policy in (("catalog", access), ("contract.negotiation", usage))
                        for d in evaluate(policy, scope=scope, now_ms=now_ms, claims=claims, groups=groups).denials]
            return judged[access_id, usage_id]

        verdicts: dict[str, str | None] = {}
        for asset_id, cds in definitions.items():
            reasons = []
            for cd in cds:
                denied = denials(cd.access_policy_id, cd.contract_policy_id)
                if not denied:
                    break
                reasons.append(f"{cd.id}: " + "; ".join(denied))
            else:
                verdicts[asset_id] = " | ".join(reasons) or "not offered under any contract definition"
                continue
            verdicts[asset_id] = None
        return verdicts

    def visible(self, bpn: str, now_ms: int, *, footprint_id: str | None = None) -> list[str]:
        """The ids of the footprints ``bpn`` may see, newest first (or just ``footprint_id``).
        Only ids and assets are read here: documents are read for what is answered."""
        with self.db.read() as session:
            query = select(Footprint.id, Footprint.asset_id)
            if footprint_id is not None:
                query = query.where(Footprint.id == footprint_id)
            rows = session.execute(query.order_by(col(Footprint.created_at).desc(), col(Footprint.id))).all()
            verdicts = self.allowed_assets(session, bpn, {r.asset_id for r in rows}, now_ms) if rows else {}
        hidden = [f"{r.id} ({r.asset_id}): {verdicts[r.asset_id]}" for r in rows if verdicts[r.asset_id]]
        if hidden:
            log.info("PACT: %d footprint(s) hidden from %s by policy: %s", len(hidden), bpn,
                     " | ".join(hidden[:5]) + (" | ..." if len(hidden) > 5 else ""))
        return [r.id for r in rows if verdicts[r.asset_id] is None]

    def documents(self, ids: list[str]) -> list[tuple[str, dict]]:
        """(id, internal 8.0.0 document) of these footprints, in the order given."""
        found: dict[str, dict] = {}
        with self.db.read() as session:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                for row in session.execute(select(Footprint.id, Footprint.document).where(col(Footprint.id).in_(chunk))):
                    found[row.id] = row.document
        return [(i, found[i]) for i in ids if i in found]

    def page(self, bpn: str, now_ms: int, filters: Filters | None, offset: int,
             limit: int) -> tuple[list[tuple[str, dict]], bool]:
        """One page of what ``bpn`` may see and ``filters`` select, and whether more follow."""
        ids = self.visible(bpn, now_ms)
        if filters is None or filters.selects_all():
            return self.documents(ids[offset:offset + limit]), offset + limit < len(ids)
        chosen = [(i, doc) for i, doc in self.documents(ids) if filters.matches(doc)]
        return chosen[offset:offset + limit], offset + limit < len(chosen)

    def matching(self, bpn: str, now_ms: int, filters) -> list[tuple[str, dict]]:
        return [(i, doc) for i, doc in self.documents(self.visible(bpn, now_ms)) if filters.matches(doc)]
