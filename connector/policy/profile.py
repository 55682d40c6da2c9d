"""The Catena-X 2025-09 ODRL policy profile, written down as data.

One ``OperandSpec`` per left operand says which operators it takes, what its
right operand must look like (type, named values, pattern, list rules), where it
may appear (access or usage policy; permission, prohibition or obligation), and
how the evaluator can check it:

* ``claim``    - proven by the requester's verified identity (credentials, BPN, groups);
* ``time``     - compared with "now" (an absolute end date);
* ``duration`` - compared with "now" relative to the agreement's start;
* ``agreed``   - a contractual term, agreed by accepting the offer; nothing at request
  time can prove or disprove it, so it never decides an evaluation.

The table follows the profile's JSON schemas (``schema/constraint/*.json`` and
``schema/atomic-constraint-schemas.json`` of catenax-eV/cx-odrl-profile, 2025-09);
``tests/policy_engine`` compares it with those files. Two ODRL operands that the
CX schemas do not list, ``odrl:dateTime`` and ``odrl:elapsedTime``, are included
as extensions (``source == "odrl"``): the DSP examples use them and the engine can
enforce them.

Left operands are matched by full IRI. A few spellings are aliases: the schema
terms the CX context does not define (``WarrantyDurationMonths``,
``WarrantyDefinition``), which therefore stay relative IRIs when read;
``cx-policy:WarrantyDuration`` (the context's term for WarrantyDurationMonths);
and the bare words ``dateTime``/``elapsedTime``, which the DSP context does not
define either.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from .model import IriRef, TypedLiteral
from .vocabulary import CX_LEFT_OPERAND_TERMS, CX_POLICY_NS, ODRL_NS, cx, odrl

# Operands of other data spaces this connector also speaks (issue 16): Gaia-X labels (our term, no
# data space standardises one) and the Factory-X EDC policy context (fx-policy-v1.jsonld).
PONTIS_POLICY_NS = "https://w3id.org/pontis/v1/"
FX_POLICY_NS = "https://w3id.org/factoryx/policy/v1.0/"

PolicyKind = Literal["access", "usage"]
RuleKind = Literal["permission", "prohibition", "obligation"]
Place = tuple[PolicyKind, RuleKind]
CheckKind = Literal["claim", "time", "duration", "agreed"]
# "strings": one string for eq/neq, a list of them for isAnyOf/isNoneOf (BusinessPartnerDID)
ValueType = Literal["string", "integer", "list", "strings", "dateTime", "duration"]

SCOPES = ("catalog", "contract.negotiation", "transfer.process")

ACCESS_PERMISSION: Place = ("access", "permission")
USAGE_PERMISSION: Place = ("usage", "permission")
USAGE_PROHIBITION: Place = ("usage", "prohibition")
USAGE_OBLIGATION: Place = ("usage", "obligation")

PLACE_NAMES = {
    ACCESS_PERMISSION: "access policy permission",
    USAGE_PERMISSION: "usage policy permission",
    USAGE_PROHIBITION: "usage policy prohibition",
    USAGE_OBLIGATION: "usage policy obligation",
}

# Actions: the CX context defines "access" (cx-policy:access); tractusx-edc used the
# EDC namespace for it before the 2025-09 profile, so that IRI is read as access too.
ACCESS_ACTIONS = frozenset({cx("access"), "https://w3id.org/edc/v0.0.1/ns/access"})
USE_ACTION = odrl("use")

# The date pattern every CX end-date operand uses (seconds and a zone are required).
CX_DATE_PATTERN = r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2}))$"
BPNL_PATTERN = r"^BPNL[0-9A-Z]{12}$"
DID_PATTERN = r"^did:[a-z0-9]+:[A-Za-z0-9._:%/-]+$"  # W3C DID syntax (method, then method-specific id)
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
XSD_DURATION = "http://www.w3.org/2001/XMLSchema#duration"


@dataclass(frozen=True, slots=True)
class OperandSpec:
    """What the profile says about one left operand."""

    name: str  # the compact term, e.g. "Membership"
    iri: str
    operators: tuple[str, ...]  # compact ODRL operator names, e.g. ("isAnyOf", "isNoneOf")
    value: ValueType  # for "list", the rules below apply to each item
    places: frozenset[Place]
    check: CheckKind
    values: frozenset[str] = frozenset()  # the named values the profile defines
    free_text: bool = False  # any string is allowed besides ``values``
    pattern: str | None = None  # a string (or each item) must match this
    unique: bool = False  # list items must be distinct (JSON schema uniqueItems)
    source: str = "cx"  # "cx": the 2025-09 profile; "odrl": an ODRL extension
    how: str = ""  # how the evaluator checks it, for plans and explanations

    @property
    def operator_iris(self) -> frozenset[str]:
        return frozenset(odrl(o) for o in self.operators)

    @property
    def scopes(self) -> tuple[str, ...]:
        """The policy scopes in which the evaluator checks this operand."""
        if self.check in ("claim", "time"):
            return SCOPES
        if self.check == "duration":
            return ("transfer.process",)  # needs the agreement's start date
        return ()


_A = frozenset({ACCESS_PERMISSION})
_P = frozenset({USAGE_PERMISSION})
_AP = frozenset({ACCESS_PERMISSION, USAGE_PERMISSION})
_PX = frozenset({USAGE_PERMISSION, USAGE_PROHIBITION})
_X = frozenset({USAGE_PROHIBITION})
_O = frozenset({USAGE_OBLIGATION})
_AGREED = "agreed by accepting the offer; not proven at request time"


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


REGIONS = _set(
    """cx.region.all:1 cx.region.europe:1 cx.region.northAmerica:1 cx.region.southAmerica:1
    cx.region.africa:1 cx.region.asia:1 cx.region.oceania:1 cx.region.antarctica:1"""
)

# Standardised purposes; UsagePurpose also takes any individually agreed text.
# (cx.bpdm.vas.bdv.download:1 is defined in the schema file but not referenced by
# its anyOf; as free text it is accepted either way.)
USAGE_PURPOSES = _set(
    """cx.core.legalRequirementForThirdparty:1 cx.core.industrycore:1 cx.core.qualityNotifications:1
    cx.core.digitalTwinRegistry:1 cx.pcf.base:1 cx.quality.base:1 cx.dcm.base:1 cx.puris.base:1
    cx.circular.dpp:1 cx.circular.smc:1 cx.circular.marketplace:1 cx.circular.materialaccounting:1
    cx.bpdm.gate.upload:1 cx.bpdm.gate.download:1 cx.bpdm.pool:1 cx.bpdm.vas.countryrisk:1
    cx.bpdm.vas.dataquality.upload:1 cx.bpdm.vas.dataquality.download:1 cx.bpdm.vas.bdv.upload:1
    cx.bpdm.vas.bdv.download:1 cx.bpdm.vas.fpd.upload:1 cx.bpdm.vas.fpd.download:1
    cx.bpdm.vas.swd.upload:1 cx.bpdm.vas.swd.download:1 cx.bpdm.vas.nps.upload:1
    cx.bpdm.vas.nps.download:1 cx.ccm.base:1 cx.bpdm.poolAll:1 cx.logistics.base:1"""
)

USAGE_RESTRICTIONS = _set(
    """cx.thirdParty.forbidden:1 cx.manipulation.forbidden:1 cx.derivations.forbidden:1
    cx.extraordinaryAnalytics.forbidden:1 cx.dataProviderRemoval.forbidden:1"""
)

_COMPARISONS = ("eq", "neq", "lt", "lteq", "gt", "gteq")


def _cx(name: str, operators: tuple[str, ...], value: ValueType, places: frozenset[Place], check: CheckKind, **kw: Any) -> OperandSpec:
    kw.setdefault("how", _AGREED if check == "agreed" else "")
    return OperandSpec(name, cx(name), operators, value, places, check, **kw)


def _agreed_eq(name: str, places: frozenset[Place], values: str) -> OperandSpec:
    return _cx(name, ("eq",), "string", places, "agreed", values=_set(values))


SPECS: tuple[OperandSpec, ...] = (
    # --- proven by the requester's identity ---------------------------------------------
    _cx("Membership", ("eq",), "string", _AP, "claim", values=_set("active"),
        how="claim 'membership' is true or \"active\", or credentials include MembershipCredential"),
    _cx("FrameworkAgreement", ("eq",), "string", _AP, "claim", values=_set("DataExchangeGovernance:1.0"),
        how="claim 'frameworkAgreements'[name] equals the version, or credentials include <Name>Credential"),
    _cx("BusinessPartnerNumber", ("isAnyOf", "isNoneOf"), "list", _A, "claim",
        pattern=BPNL_PATTERN, unique=True, how="claim 'bpn' is (not) one of the listed BPNLs"),
    _cx("BusinessPartnerGroup", ("isAnyOf", "isNoneOf"), "list", _A, "claim", free_text=True, unique=True,
        how="the requester's groups (resolved by the caller from the group store) meet (avoid) the listed groups"),
    # --- usage permission terms, agreed by accepting the offer -------------------------------
    _cx("UsagePurpose", ("isAnyOf",), "list", _P, "agreed", values=USAGE_PURPOSES, free_text=True),
    _cx("ContractReference", ("isAllOf",), "list", _P, "agreed", free_text=True, unique=True),
    _cx("AffiliatesRegion", ("isAnyOf",), "list", _PX, "agreed", values=REGIONS),
    _cx("AffiliatesBpnl", ("isAnyOf",), "list", _PX, "agreed", pattern=BPNL_PATTERN, unique=True),
    _cx("ManagedLegalEntityRegion", ("isAnyOf",), "list", _P, "agreed", values=REGIONS),
    _cx("ManagedLegalEntityBpnl", ("isAnyOf",), "list", _P, "agreed", pattern=BPNL_PATTERN, unique=True),
    _agreed_eq("DataFrequency", _P, "cx.dataFrequency.once:1 cx.dataFrequency.unlimited:1"),
    _agreed_eq("VersionChanges", _P, "cx.versionChanges.minor:1 cx.versionChanges.major:1"),
    _agreed_eq("ContractTermination", _P, "cx.data.deletion:1 cx.data.keeping:1"),
    _agreed_eq("ConfidentialInformationMeasures", _P, "cx.confidentiality.measures:1"),
    _cx("ConfidentialInformationSharing", ("isAnyOf",), "list", _P, "agreed",
        values=_set("cx.sharing.affiliates:1 cx.sharing.managedLegalEntity:1")),
    _agreed_eq("ExclusiveUsage", _P, "cx.exclusiveUsage.dataConsumer:1"),
    _agreed_eq("Warranty", _P, "cx.warranty.none:1 cx.warranty.contractReference:1 cx.warranty.dataQualityIssues:1"),
    _agreed_eq("WarrantyDefinition", _P, "cx.warranty.contractEndDate:1"),
    _cx("WarrantyDurationMonths", ("eq",), "integer", _P, "agreed"),
    _agreed_eq("Liability", _P, "cx.grossNegligence:1 cx.slightNegligence:1"),
    _cx("JurisdictionLocation", ("eq",), "string", _P, "agreed", free_text=True),
    _agreed_eq("JurisdictionLocationReference", _P, "cx.location.dataConsumer:1 cx.location.contractReference:1"),
    _agreed_eq("Precedence", _P, "cx.precedence.contractReference:1 cx.precedence.rcAgreement:1"),
    _agreed_eq("DataUsageEndDefinition", _P, "cx.dataUsageEnd.unlimited:1"),
    # --- time limits ------------------------------------------------------------------------
    _cx("DataUsageEndDate", ("eq",), "dateTime", _P, "time", pattern=CX_DATE_PATTERN,
        how="now must not be after the end date"),
    _cx("DataUsageEndDurationDays", ("eq",), "integer", _P, "duration",
        how="now must be before the agreement's start day + N days"),
    _cx("DataProvisioningEndDate", ("eq",), "dateTime", _O, "time", pattern=CX_DATE_PATTERN,
        how="now must not be after the end date"),
    _cx("DataProvisioningEndDurationDays", ("eq",), "integer", _O, "duration",
        how="now must be before the agreement's start day + N days"),
    # --- prohibition terms ------------------------------------------------------------------
    _cx("UsageRestriction", ("isAllOf",), "list", _X, "agreed", values=USAGE_RESTRICTIONS),
    # --- ODRL operands outside the CX schemas -------------------------------------------------
    OperandSpec("dateTime", odrl("dateTime"), _COMPARISONS, "dateTime",
                frozenset({ACCESS_PERMISSION, USAGE_PERMISSION, USAGE_PROHIBITION, USAGE_OBLIGATION}), "time",
                source="odrl", how="now compared with the xsd:dateTime right operand"),
    OperandSpec("elapsedTime", odrl("elapsedTime"), _COMPARISONS, "duration",
                frozenset({USAGE_PERMISSION, USAGE_PROHIBITION, USAGE_OBLIGATION}), "duration",
                source="odrl", how="time since the agreement's start compared with the xsd:duration"),
    # --- other data spaces' operands (connector.policy.dataspace_operands evaluates them) -------
    OperandSpec("GaiaxLabelLevel", PONTIS_POLICY_NS + "GaiaxLabelLevel", _COMPARISONS, "string", _AP, "claim",
                values=_set("SC L1 L2 L3"), source="gaia-x",
                how="the requester's verified Gaia-X label (claim 'gaiaxLabelLevel', SC < L1 < L2 < L3), "
                    "still valid now (claim 'gaiaxLabelValidUntil')"),
    OperandSpec("FxMembership", FX_POLICY_NS + "Membership", ("eq",), "string", _AP, "claim",
                values=_set("active"), source="factory-x",
                how="credentials include (Fx)MembershipCredential, or claim 'fxMembership' is true or \"active\""),
    OperandSpec("FxCertificationType", FX_POLICY_NS + "CertificationType", ("eq", "neq"), "string", _AP, "claim",
                free_text=True, source="factory-x",
                how="claim 'certificationTypes' (from CertificationCredential) does (not) include the value"),
    OperandSpec("BusinessPartnerDID", FX_POLICY_NS + "BusinessPartnerDID", ("eq", "neq", "isAnyOf", "isNoneOf"),
                "strings", _AP, "claim", pattern=DID_PATTERN, unique=True, source="factory-x",
                how="the caller's authenticated DID (claim 'did': the DCP token's verified issuer, or the "
                    "static-token peer's configured id) is (not) the DID or one of the listed DIDs"),
)

BY_NAME: dict[str, OperandSpec] = {s.name: s for s in SPECS}
BY_IRI: dict[str, OperandSpec] = {s.iri: s for s in SPECS}

# Other spellings of the same operands (see the module docstring). A term that no context
# defines stays a relative IRI when read, so its bare name is accepted as the operand.
ALIASES: dict[str, str] = {
    **{s.name: s.name for s in SPECS if s.source == "odrl" or s.name not in CX_LEFT_OPERAND_TERMS},
    cx("WarrantyDuration"): "WarrantyDurationMonths",
    # later Factory-X EDC code spells it FxMembership (research gaiax.md §4.4): accept both
    FX_POLICY_NS + "FxMembership": "FxMembership",
    "pontis:GaiaxLabelLevel": "GaiaxLabelLevel",
    # the fx-policy-v1.jsonld context's compact form, when a body keeps it unexpanded
    "fx-policy:BusinessPartnerDID": "BusinessPartnerDID",
}
for _alias, _name in ALIASES.items():
    BY_IRI.setdefault(_alias, BY_NAME[_name])

# Earlier namespaces of the profile; a left operand there gets a pointed hint.
LEGACY_NAMESPACES = ("https://w3id.org/catenax/policy/", "https://w3id.org/tractusx/v0.0.1/ns/")


def lookup(iri: str) -> OperandSpec | None:
    """The spec for a left-operand IRI (or alias), or None if the profile has no such operand."""
    return BY_IRI.get(iri)


def local_name(iri: str) -> str:
    """The last segment of an IRI ("https://.../policy/Membership" -> "Membership")."""
    for ns in (CX_POLICY_NS, ODRL_NS, *LEGACY_NAMESPACES):
        if iri.startswith(ns):
            return iri[len(ns):]
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def allowed_at(place: Place, *, extensions: bool = True, dataspaces: bool = False) -> tuple[OperandSpec, ...]:
    """The operands the profile allows at ``place`` (in table order); other data spaces' operands
    (Gaia-X, Factory-X) only with ``dataspaces``."""
    return tuple(s for s in SPECS if place in s.places and (extensions or s.source == "cx")
                 and (dataspaces or s.source in ("cx", "odrl")))


# --- values: parsing and display (shared by validation, evaluation and explain) ---------------

# xsd:dateTime with the seconds optional (the DSP examples write "2023-12-31T06:00Z") and a
# zone required: without one, "now" could not be compared with it unambiguously.
_ODRL_DATETIME = re.compile(r"-?[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})")
_DURATION = re.compile(
    r"P(?!$)(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)D)?(?:T(?!$)(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+(?:\.[0-9]+)?)S)?)?"
)


def parse_datetime(text: str, *, pattern: str | None = None) -> datetime:
    """An aware datetime from an xsd:dateTime string (or the stricter CX ``pattern``).
    Raises ValueError, also for impossible dates such as February 30th."""
    if pattern is not None:
        if re.fullmatch(pattern.strip("^$"), text, re.ASCII) is None:
            raise ValueError("does not match " + pattern)
    elif _ODRL_DATETIME.fullmatch(text) is None:
        raise ValueError("is not an xsd:dateTime with a time zone, e.g. 2026-12-31T23:59:59Z")
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class Duration:
    """An xsd:duration: months (calendar) plus an exact time span."""

    months: int
    span: timedelta

    def after(self, start: datetime) -> datetime:
        """``start`` + this duration (months first, clamped to the month's last day)."""
        if self.months:
            y, m = divmod(start.month - 1 + self.months, 12)
            year, month = start.year + y, m + 1
            start = start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))
        return start + self.span


def parse_duration(text: str) -> Duration:
    """A non-negative xsd:duration such as "P30D" or "P1Y2M" or "PT12H". Raises ValueError."""
    m = _DURATION.fullmatch(text)
    if m is None:
        raise ValueError("is not a non-negative xsd:duration such as P30D")
    y, mo, d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    if y != int(y) or mo != int(mo):
        raise ValueError("years and months must be whole numbers")
    return Duration(int(y) * 12 + int(mo), timedelta(days=d, hours=h, minutes=mi, seconds=s))


def plain(value: Any) -> Any:
    """A right operand as plain JSON data: literals lose their datatype, IRIs become strings."""
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, TypedLiteral):
        return value.value
    if isinstance(value, IriRef):
        return value.iri
    return value


def show(value: Any) -> str:
    """A right operand as it reads in a sentence: ``[a, b]``, ``active``, ``30``."""
    value = plain(value)
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def operand_name(iri: str) -> str:
    """The display name of a left operand: the profile term, else the IRI's last segment."""
    spec = lookup(iri)
    return spec.name if spec else local_name(iri)


def operator_name(iri: str) -> str:
    return iri[len(ODRL_NS):] if iri.startswith(ODRL_NS) else iri
