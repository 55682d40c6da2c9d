"""The validator and the profile's JSON schemas agree: on the official samples, on each
sample constraint in every kind of rule, and on mutated variants of them.

"The schema" is the reference policy-schema.json with its evident intent restored in
memory (see _refs.intended_policy_schema); every sample constraint is also checked against
its own constraint schema file. A few variants are left out on purpose because JSON-LD
makes them the same policy as a variant that is tested: ["x"] vs "x", and "cx-policy:X"
vs "X" (the typed model cannot tell them apart, and neither can any JSON-LD reader).
"""

from __future__ import annotations

import copy
import json

import pytest

from connector.policy import PolicyFormatError, policy_from_compact_dsp, validate

from ._build import FA, PCF, c
from ._refs import (
    ATOMIC_SCHEMA,
    CX_SCHEMA,
    POLICY_SCHEMA,
    constraint_accepted,
    constraint_schemas,
    load,
    requires_shared,
    schema_accepts,
    schema_errors,
)

pytestmark = requires_shared

PLACES = ("access", "permission", "prohibition", "obligation")
OPERATORS = ("eq", "neq", "lt", "gteq", "isAnyOf", "isAllOf", "isNoneOf", "hasPart")


def ours(doc: dict, kind: str) -> bool:
    """Our write path: the codec must read it and the strict profile validator accept it."""
    try:
        policy = policy_from_compact_dsp(doc)
    except PolicyFormatError:
        return False
    return validate(policy, kind=kind, extensions=False) == []


def wrap(constraint: dict, place: str) -> tuple[dict, str]:
    """A whole policy holding ``constraint`` at ``place``; usage permissions get a companion term."""
    if place == "access":
        rule, kind, items = "permission", "access", [constraint]
    else:
        rule, kind, items = place, "usage", [constraint]
        if place == "permission":
            companion = PCF if constraint.get("leftOperand") != "UsagePurpose" else FA
            items = [{"and": [constraint, companion]}]
    action = "access" if kind == "access" else "use"
    return {"@id": "urn:x", "@type": "Set", rule: [{"action": action, "constraint": items}]}, kind


def constraint_samples() -> dict[str, dict]:
    out: dict[str, dict] = {}
    if not CX_SCHEMA.is_dir():  # collected without the reference data: the module is skipped
        return out
    for path in sorted((CX_SCHEMA / "samples").glob("*-constraint-sample.json")):
        out[path.name] = load(path)
    return out


def right_variants(sample: dict) -> list:
    right = sample["rightOperand"]
    if isinstance(right, list):
        return [[], ["zzz-unknown"], [1], [right[0], right[0]], [str(right[0]).lower()], right + ["cx.region.europe:1"]]
    if isinstance(right, int):
        return ["6", 2.5, 2.0, True, -1, 0]
    return [42, "", "zzz-unknown", right.upper(), {"@value": right, "@type": "xsd:string"},
            "2023-10-04", "2023-10-04T12:30Z", "2023-10-04T12:30:00+02:00"]


def variants() -> list[tuple[str, dict]]:
    out = []
    for name, sample in constraint_samples().items():
        out.append((f"{name}:as-is", sample))
        out.append((f"{name}:left-typo", {**sample, "leftOperand": sample["leftOperand"] + "s"}))
        out.append((f"{name}:left-lower", {**sample, "leftOperand": sample["leftOperand"].lower()}))
        for op in OPERATORS:
            if op != sample["operator"]:
                out.append((f"{name}:op={op}", {**sample, "operator": op}))
        for i, right in enumerate(right_variants(sample)):
            out.append((f"{name}:right{i}={json.dumps(right)}", {**sample, "rightOperand": right}))
    return out


@pytest.mark.parametrize("label,constraint", variants(), ids=[v[0] for v in variants()])
def test_constraint_in_every_place(label, constraint):
    own_file = constraint_accepted(constraint)
    for place in PLACES:
        doc, kind = wrap(copy.deepcopy(constraint), place)
        expected = schema_accepts(doc, kind)
        assert ours(doc, kind) == expected, f"{label} at {place}: schema says {expected}"
        if expected:  # accepted anywhere => its own schema file accepts it too
            assert own_file, label


def test_the_corpus_has_both_verdicts_in_each_place():
    # Guard against an oracle that says yes (or no) to everything.
    for place in PLACES:
        verdicts = {schema_accepts(*wrap(c, place)) for _, c in variants()}
        assert verdicts == {True, False}, place


POLICY_SAMPLES = {
    "access-policy.json": ("access", True, []),
    "usage-policy-individual-constraints-sample.json": ("usage", True, []),
    # The official samples themselves carry values their schemas reject:
    "usage-policy-sample.json": ("usage", False, ["permission[0].constraint[0].and[2].rightOperand"]),
    "usage-policy-comprehensive-sample.json": ("usage", False, [
        "permission[0].constraint[0].and[12].rightOperand",  # WarrantyDurationMonths "6": a string
        "prohibition[0].constraint[0].and[0].rightOperand[0]",  # definition names, not values
        "prohibition[0].constraint[0].and[0].rightOperand[1]",
    ]),
}


@pytest.mark.parametrize("name", sorted(POLICY_SAMPLES))
def test_official_policy_samples(name):
    kind, valid, paths = POLICY_SAMPLES[name]
    doc = load(CX_SCHEMA / "samples" / name)
    assert schema_accepts(doc, kind) is valid
    found = validate(policy_from_compact_dsp(doc), kind=kind, extensions=False)
    assert [v.path for v in found] == paths
    assert validate(policy_from_compact_dsp(doc)) == found  # kind inferred the same way


def _mutations():
    if not CX_SCHEMA.is_dir():
        return []
    access = load(CX_SCHEMA / "samples" / "access-policy.json")
    usage = load(CX_SCHEMA / "samples" / "usage-policy-individual-constraints-sample.json")
    out = []

    def m(label, base, kind, change):
        doc = copy.deepcopy(base)
        change(doc)
        out.append((label, doc, kind))

    def perm(d):
        return d["permission"][0]

    def terms(d):  # the members of the first permission's "and"
        return perm(d)["constraint"][0]["and"]

    def rename_and_to_or(d):
        perm(d)["constraint"][0]["or"] = perm(d)["constraint"][0].pop("and")

    bpn = c("BusinessPartnerNumber", "isAnyOf", ["BPNL00000003AYRE"])
    m("access:use-action", access, "access", lambda d: perm(d).update(action="use"))
    m("access:prohibition", access, "access", lambda d: d.update(prohibition=[{"action": "use", "constraint": [PCF]}]))
    m("access:or", access, "access", rename_and_to_or)
    m("access:usage-term", access, "access", lambda d: terms(d).append(PCF))
    m("access:no-constraints", access, "access", lambda d: perm(d).pop("constraint"))
    m("access:group", access, "access", lambda d: terms(d).append(c("BusinessPartnerGroup", "isNoneOf", ["blocked"])))
    m("access:datetime", access, "access", lambda d: terms(d).append(c("dateTime", "lt", "2030-01-01T00:00:00Z")))
    m("usage:as-access", usage, "access", lambda d: None)
    m("usage:no-purpose", usage, "usage", lambda d: terms(d).pop(1))
    m("usage:only-fa", usage, "usage", lambda d: perm(d).update(constraint=[FA]))
    m("usage:restriction-in-permission", usage, "usage",
      lambda d: terms(d).append(d["prohibition"][0]["constraint"][0]["and"][0]))
    m("usage:bpn-in-permission", usage, "usage", lambda d: terms(d).append(bpn))
    m("usage:end-date-as-obligation", usage, "usage",
      lambda d: d["obligation"][0].update(constraint=[c("DataUsageEndDate", "eq", "2030-01-01T00:00:00Z")]))
    m("usage:duration-obligation", usage, "usage",
      lambda d: d["obligation"][0].update(constraint=[{"and": [c("DataProvisioningEndDurationDays", "eq", 30)]}]))
    m("usage:duplicate-terms", usage, "usage",
      lambda d: perm(d)["constraint"].append(copy.deepcopy(perm(d)["constraint"][0])))
    m("usage:access-prohibition", usage, "usage", lambda d: d["prohibition"][0].update(action="access"))
    m("usage:affiliates-prohibition", usage, "usage",
      lambda d: d["prohibition"][0]["constraint"][0]["and"].append(c("AffiliatesBpnl", "isAnyOf", ["BPNL00000003AYRE"])))
    m("usage:empty", {"@id": "urn:x", "@type": "Set"}, "usage", lambda d: None)
    m("usage:prohibition-only", usage, "usage", lambda d: (d.pop("permission"), d.pop("obligation")))
    return out


@pytest.mark.parametrize("label,doc,kind", _mutations(), ids=[x[0] for x in _mutations()])
def test_policy_mutations(label, doc, kind):
    assert ours(doc, kind) == schema_accepts(doc, kind), schema_errors(doc, POLICY_SCHEMA)


def test_published_schema_accepts_what_we_accept():
    """Whatever the strict validator accepts also passes the schemas exactly as published,
    except integer right operands, which the published DSP schema forbids (see _refs)."""
    accepted = [(d, k) for _, d, k in _mutations() if ours(d, k)]
    accepted += [wrap(c, p) for _, c in variants() for p in PLACES if ours(*wrap(c, p))]
    checked = 0
    for doc, _kind in accepted:
        if '"rightOperand": 2' in json.dumps(doc) or "Days" in json.dumps(doc) or "Months" in json.dumps(doc):
            continue
        assert schema_errors(doc, POLICY_SCHEMA, intended=False) == [], doc
        checked += 1
    assert checked > 50


def test_schema_pattern_accepts_impossible_dates_we_do_not():
    # Deliberately stricter: February 30th matches the profile's pattern but is no date.
    doc, kind = wrap({"leftOperand": "DataUsageEndDate", "operator": "eq", "rightOperand": "2027-02-30T00:00:00Z"}, "permission")
    assert schema_accepts(doc, kind) and not ours(doc, kind)


def test_atomic_schema_file_is_loaded():
    assert schema_errors({"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}, ATOMIC_SCHEMA) == []
    assert len(constraint_schemas()) == 29
