"""Term tables and IRI helpers for the compact policy vocabulary.

The DSP 2025-1 messages carry policies in the compact form defined by the DSP
ODRL profile context (plus, for Catena-X, the CX 2025-09 policy context). To
read and write that form without running a JSON-LD processor on every request
we keep the handful of term definitions that matter here as plain tables.

Every term in both contexts maps to ``<namespace><same name>``, so a set of
names per namespace is the whole table. ``tests/policy`` checks these sets
against the reference context files, so drift is caught.

Deliberately independent of ``connector.jsonld`` (this package works on plain
dicts; JSON-LD processing stays at the edges).
"""

from __future__ import annotations

# Namespaces (each ends with its separator so ``NS + name`` is the full IRI).
ODRL_NS = "http://www.w3.org/ns/odrl/2/"
CX_POLICY_NS = "https://w3id.org/catenax/2025/9/policy/"
DSPACE_NS = "https://w3id.org/dspace/2025/1/"
DCT_NS = "http://purl.org/dc/terms/"
DCAT_NS = "http://www.w3.org/ns/dcat#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"

# Context IRIs a message puts in its "@context".
DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
DSP_ODRL_PROFILE = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"
CX_POLICY_CONTEXT = "https://w3id.org/catenax/2025/9/policy/context.jsonld"

# ODRL terms of the DSP odrl profile that have no type coercion and no
# container. Only these can stand for an IRI in a value position (action,
# leftOperand, operator), because JSON-LD term selection skips coerced terms.
ODRL_SIMPLE_TERMS = frozenset(
    """
    Policy Rule prohibit Agreement Assertion Offer Set Asset Action Permission
    Prohibition use Duty Constraint Operator RightOperand rightOperand LeftOperand
    eq gt gteq lt lteq neq isA hasPart isPartOf isAllOf isAnyOf isNoneOf
    or xone and andSequence
    """.split()
)

# ODRL terms of the DSP odrl profile that carry a type coercion (@id/@vocab)
# or a @set container; they are used as keys only.
ODRL_COERCED_TERMS = frozenset(
    """
    profile hasPolicy target assignee assigner action permission prohibition
    obligation duty constraint operator leftOperand
    """.split()
)

ODRL_TERMS = ODRL_SIMPLE_TERMS | ODRL_COERCED_TERMS

# Catena-X 2025-09 policy context: the action term and the left-operand terms.
CX_ACTION_TERMS = frozenset({"access"})
CX_LEFT_OPERAND_TERMS = frozenset(
    """
    AffiliatesBpnl AffiliatesRegion BusinessPartnerGroup BusinessPartnerNumber
    ConfidentialInformationMeasures ConfidentialInformationSharing
    ContractReference ContractTermination DataFrequency DataProvisioningEndDate
    DataProvisioningEndDurationDays DataUsageEndDate DataUsageEndDurationDays
    DataUsageEndDefinition ExclusiveUsage FrameworkAgreement JurisdictionLocation
    JurisdictionLocationReference Liability ManagedLegalEntityBpnl
    ManagedLegalEntityRegion Membership Precedence UsagePurpose UsageRestriction
    VersionChanges Warranty WarrantyDuration
    """.split()
)
CX_TERMS = CX_ACTION_TERMS | CX_LEFT_OPERAND_TERMS

# Prefixes the DSP context (and the CX context for cx-policy) define; used to
# read and write CURIEs such as "odrl:dateTime".
PREFIXES: dict[str, str] = {
    "odrl": ODRL_NS,
    "cx-policy": CX_POLICY_NS,
    "dspace": DSPACE_NS,
    "dct": DCT_NS,
    "dcat": DCAT_NS,
    "xsd": XSD_NS,
}

LOGICAL_OPERATORS = ("and", "or", "xone", "andSequence")


def odrl(name: str) -> str:
    """Full ODRL IRI for a local name: ``odrl("eq")`` -> ``http://www.w3.org/ns/odrl/2/eq``."""
    return ODRL_NS + name


def cx(name: str) -> str:
    """Full Catena-X policy IRI for a local name, e.g. ``cx("Membership")``."""
    return CX_POLICY_NS + name


# Set-based ODRL operators: their right operand is a set of values, so the
# codec always gives them a tuple and ``equivalent`` ignores its order.
SET_OPERATORS = frozenset({odrl("isAnyOf"), odrl("isAllOf"), odrl("isNoneOf")})


def expand_iri(value: str, *, vocab: bool) -> str:
    """Expand a compact string the way the DSP + CX contexts would.

    ``vocab`` is true for @vocab positions (keys, action, leftOperand,
    operator, datatypes), where terms apply; for @id positions only CURIEs do.
    Anything else (absolute IRIs, undefined bare words) is returned unchanged:
    with ``base=None`` a JSON-LD processor keeps an undefined word as a
    relative IRI too, so both paths agree.
    """
    if ":" in value:
        prefix, suffix = value.split(":", 1)
        # JSON-LD never treats "x://..." as a CURIE; it is an absolute IRI.
        if prefix in PREFIXES and not suffix.startswith("//"):
            return PREFIXES[prefix] + suffix
        return value
    if vocab:
        if value in ODRL_TERMS:
            return ODRL_NS + value
        if value in CX_TERMS:
            return CX_POLICY_NS + value
    return value


def compact_iri(iri: str, *, vocab: bool) -> str:
    """Compact an IRI the way a JSON-LD processor would with the DSP + CX contexts.

    Term first (only in @vocab positions), then a CURIE with a known prefix,
    else the IRI unchanged.
    """
    if vocab:
        if iri.startswith(ODRL_NS) and iri[len(ODRL_NS):] in ODRL_SIMPLE_TERMS:
            return iri[len(ODRL_NS):]
        if iri.startswith(CX_POLICY_NS) and iri[len(CX_POLICY_NS):] in CX_TERMS:
            return iri[len(CX_POLICY_NS):]
    for prefix, ns in PREFIXES.items():
        suffix = iri[len(ns):]
        if iri.startswith(ns) and suffix and not suffix.startswith("//"):
            return f"{prefix}:{suffix}"
    return iri


def uses_cx_vocabulary(iri: str) -> bool:
    """True if writing ``iri`` compactly needs the CX policy context."""
    return iri.startswith(CX_POLICY_NS)
