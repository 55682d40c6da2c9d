"""Conversion between the typed ``Policy`` and its JSON shapes.

* ``policy_from_expanded``: from a JSON-LD expanded policy node (management API
  input after expansion with whatever context the user sent);
* ``policy_from_compact_dsp``: from the compact DSP 2025-1 form (+ CX terms),
  without pyld: the fast path for every catalog and negotiation message;
* ``policy_to_compact``: to that compact form, as the DSP and CX contexts
  would compact it, and ``contexts_for``: the @context such a message needs.

Only plain dicts in and out; the callers own JSON-LD processing and the
message envelope (including "@context").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._compact_in import lift_policy
from ._expanded import parse_policy
from .errors import PolicyError
from .model import AtomicConstraint, Constraint, IriRef, Policy, Rule, TypedLiteral
from .vocabulary import CX_POLICY_CONTEXT, DSP_CONTEXT, compact_iri, expand_iri, uses_cx_vocabulary

# Policy classes the DSP odrl profile defines as terms.
POLICY_TYPES = frozenset({"Offer", "Agreement", "Set", "Policy", "Assertion"})

# Keys policy_to_compact writes itself; ``extra`` may not override them.
_RESERVED = frozenset(
    {"@context", "@id", "@type", "profile", "target", "assigner", "assignee", "permission", "prohibition", "obligation"}
)


def policy_from_expanded(node: dict[str, Any] | list[Any]) -> Policy:
    """Read a JSON-LD *expanded* policy node (pyld ``expand()`` output; a
    one-element list is accepted too). Raises ``PolicyFormatError``."""
    return parse_policy(node)


def policy_from_compact_dsp(doc: dict[str, Any]) -> Policy:
    """Read a policy in the compact DSP 2025-1 vocabulary (DSP + CX terms,
    ``odrl:``/``cx-policy:`` CURIEs, full IRIs). Envelope keys (@id, @type,
    target, assigner, assignee, timestamp, ...) are ignored here; the caller
    reads them. An empty rule array is accepted and means "no rules".
    Raises ``PolicyFormatError``."""
    return parse_policy(lift_policy(doc))


# --- writing ---------------------------------------------------------------------------


def _compact(iri: str, *, vocab: bool) -> str:
    short = compact_iri(iri, vocab=vocab)
    # A relative IRI that happens to spell a term or CURIE ("use", "odrl:x")
    # would read back as something else; refuse rather than change its meaning.
    if expand_iri(short, vocab=vocab) != iri:
        raise PolicyError(f"cannot write {iri!r} in compact form: it would read back as {expand_iri(short, vocab=vocab)!r}")
    return short


def _operand_item(value: Any) -> Any:
    if isinstance(value, IriRef):
        return {"@id": _compact(value.iri, vocab=False)}
    if isinstance(value, TypedLiteral):
        out: dict[str, Any] = {"@value": value.value}
        if value.datatype is not None:
            out["@type"] = _compact(value.datatype, vocab=True)
        if value.language is not None:
            out["@language"] = value.language
        return out
    return value


def _constraint(c: Constraint) -> dict[str, Any]:
    if isinstance(c, AtomicConstraint):
        right = c.right_operand
        return {
            "leftOperand": _compact(c.left_operand, vocab=True),
            "operator": _compact(c.operator, vocab=True),
            "rightOperand": [_operand_item(v) for v in right] if isinstance(right, tuple) else _operand_item(right),
        }
    return {c.operator: [_constraint(x) for x in c.constraints]}


def _rule(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"action": _compact(rule.action, vocab=True)}
    # Empty arrays are left out: the DSP schema wants minItems 1 where present.
    if rule.constraints:
        out["constraint"] = [_constraint(c) for c in rule.constraints]
    if rule.duties:
        out["duty"] = [_rule(d) for d in rule.duties]
    return out


def policy_to_compact(
    policy: Policy,
    *,
    policy_type: str,
    policy_id: str,
    target: str | None = None,
    assigner: str | None = None,
    assignee: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The compact DSP 2025-1 JSON of ``policy`` (no "@context": the caller adds
    ``contexts_for(policy)`` to the message). Rule arrays that would be empty
    are omitted. ``extra`` adds envelope keys such as "timestamp"."""
    if policy_type not in POLICY_TYPES:
        raise ValueError(f"policy_type must be one of {sorted(POLICY_TYPES)}, got {policy_type!r}")
    if not policy_id:
        raise ValueError("policy_id is required (DSP: Offer and Agreement ids are URIs)")
    out: dict[str, Any] = {"@id": policy_id, "@type": policy_type}
    if policy.profile:
        profiles = [_compact(p, vocab=False) for p in policy.profile]
        # The profile term has no @set container, so one value compacts to a string.
        out["profile"] = profiles[0] if len(profiles) == 1 else profiles
    for key, value in (("target", target), ("assigner", assigner), ("assignee", assignee)):
        if value is not None:
            out[key] = _compact(value, vocab=False)
    if extra:
        clash = _RESERVED.intersection(extra)
        if clash:
            raise ValueError(f"extra may not set {sorted(clash)}; use the dedicated arguments")
        out.update(extra)
    for key, rules in (
        ("permission", policy.permissions),
        ("prohibition", policy.prohibitions),
        ("obligation", policy.obligations),
    ):
        if rules:
            out[key] = [_rule(r) for r in rules]
    return out


def _constraint_iris(c: Constraint) -> Iterator[str]:
    if isinstance(c, AtomicConstraint):
        yield c.left_operand
        yield c.operator
        values = c.right_operand if isinstance(c.right_operand, tuple) else (c.right_operand,)
        for v in values:
            if isinstance(v, IriRef):
                yield v.iri
            elif isinstance(v, TypedLiteral) and v.datatype:
                yield v.datatype
    else:
        for x in c.constraints:
            yield from _constraint_iris(x)


def _rule_iris(rule: Rule) -> Iterator[str]:
    yield rule.action
    for c in rule.constraints:
        yield from _constraint_iris(c)
    for d in rule.duties:
        yield from _rule_iris(d)


def iter_iris(policy: Policy) -> Iterator[str]:
    """Every IRI the policy mentions (actions, operands, operators, profiles)."""
    yield from policy.profile
    for rule in (*policy.permissions, *policy.prohibitions, *policy.obligations):
        yield from _rule_iris(rule)


def contexts_for(policy: Policy) -> list[str]:
    """The "@context" list for a message carrying ``policy``: the DSP context,
    plus the CX policy context when a CX term or ``cx-policy:`` CURIE is written."""
    contexts = [DSP_CONTEXT]
    if any(uses_cx_vocabulary(iri) for iri in iter_iris(policy)):
        contexts.append(CX_POLICY_CONTEXT)
    return contexts
