"""Policies at the management edge: reading what clients write, and writing what EDC clients read.

Reading. Clients write policies in three dialects: with an ODRL context (``permission``,
``action: "use"`` mean ODRL), with EDC's prefixes (``odrl:permission``, ``odrl:action:
{"@id": "odrl:use"}``), or, very often, with nothing but ``@vocab`` edc, where a bare
``permission`` *means* ``edc:permission`` and ``action: "use"`` is a plain string. EDC itself
accepts all three, so the expanded node is normalized first: ODRL property names that landed in
the EDC namespace are moved to ODRL; action/leftOperand/operator strings become IRIs the way
the DSP and Catena-X contexts define them (``"use"`` → ``odrl:use``, ``"FrameworkAgreement"``
→ ``cx-policy:FrameworkAgreement``). The typed model then checks the shape
(``policy_from_expanded``), and its error path is reported under the field the client wrote.

Writing: EDC style, by hand (the hot path of every GET and query): ``odrl:``-prefixed keys,
``{"@id": "odrl:use"}`` values, rule arrays always arrays (a tolerant client reads both).
"""

from __future__ import annotations

from typing import Any

from connector.jsonld.terms import EDC_NS, ODRL_NS
from connector.management.errors import bad_request, translate
from connector.management.jsonld import check_type
from connector.policy import IriRef, Policy, TypedLiteral, policy_from_compact_dsp, policy_from_expanded
from connector.policy.model import AtomicConstraint, Constraint, Rule
from connector.policy.vocabulary import CX_POLICY_NS, CX_TERMS, ODRL_TERMS, PREFIXES, expand_iri

# ODRL property names a client may have written under @vocab edc (supported or not: the typed
# parser must see the unsupported ones too, to refuse them instead of dropping them)
_ODRL_KEYS = frozenset(
    """permission prohibition obligation action constraint duty leftOperand operator rightOperand
    and or xone andSequence target assigner assignee profile refinement remedy consequence
    inheritFrom conflict unit dataType rightOperandReference status failure""".split()
)
_VOCAB_VALUED = frozenset(ODRL_NS + k for k in ("action", "leftOperand", "operator"))
_OUT_PREFIXES = {"odrl": ODRL_NS, "cx-policy": CX_POLICY_NS, "edc": EDC_NS,
                 **{k: v for k, v in PREFIXES.items() if k not in ("odrl", "cx-policy")}}


# --- reading -------------------------------------------------------------------------------------


def _term(iri: str) -> str:
    """The IRI a word in a @vocab position stands for (see the module docstring)."""
    if iri.startswith("edc:"):
        iri = EDC_NS + iri[4:]
    if iri.startswith(EDC_NS):
        local = iri[len(EDC_NS):]
        # under @vocab edc an ODRL or CX term lands in the EDC namespace by accident only
        if local in ODRL_TERMS:
            return ODRL_NS + local
        if local in CX_TERMS:
            return CX_POLICY_NS + local
        return iri
    return expand_iri(iri, vocab=True)


def _vocab_value(item: Any) -> Any:
    if isinstance(item, dict) and isinstance(item.get("@value"), str) and set(item) == {"@value"}:
        return {"@id": _term(item["@value"])}
    if isinstance(item, dict) and isinstance(item.get("@id"), str):
        return {**normalize(item), "@id": _term(item["@id"])}
    return item


def _operand(item: Any) -> Any:
    if isinstance(item, dict):
        if "@list" in item and isinstance(item["@list"], list):
            return {"@list": [_operand(v) for v in item["@list"]]}
        if isinstance(item.get("@id"), str):
            return {**item, "@id": expand_iri(item["@id"], vocab=False)}
        if "@value" in item and isinstance(item.get("@type"), str):
            return {**item, "@type": expand_iri(item["@type"], vocab=True)}
    return item


def normalize(node: Any) -> Any:
    """An expanded policy node with EDC-namespace ODRL names and string terms made ODRL IRIs."""
    if isinstance(node, list):
        return [normalize(v) for v in node]
    if not isinstance(node, dict) or "@value" in node:
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("@"):
            out[key] = value
            continue
        if key.startswith(EDC_NS) and key[len(EDC_NS):] in _ODRL_KEYS:
            key = ODRL_NS + key[len(EDC_NS):]
        items = value if isinstance(value, list) else [value]
        if key in _VOCAB_VALUED:
            items = [_vocab_value(v) for v in items]
        elif key == ODRL_NS + "rightOperand":
            items = [_operand(v) for v in items]
        else:
            items = [normalize(v) for v in items]
        # "permission" and "odrl:permission" in one body mean the same property: merge them
        out.setdefault(key, []).extend(items)
    return out


def _party(node: dict, name: str, path: str) -> str | None:
    items = node.get(ODRL_NS + name) or node.get(EDC_NS + name) or []
    if not items:
        return None
    item = items[0]
    value = item.get("@id", item.get("@value")) if isinstance(item, dict) else None
    if len(items) > 1 or not isinstance(value, str) or not value:
        raise bad_request(f"{path}.{name}", "expected one id string (or {\"@id\": ...})")
    return value


def read_policy(node: dict, path: str, types: tuple[str, ...]) -> tuple[Policy, dict]:
    """The typed policy in an expanded policy node and its envelope (``@id``, target, parties)."""
    check_type(node, f"{path}.@type", types)
    normalized = normalize(node)
    try:
        policy = policy_from_expanded(normalized)
    except ValueError as exc:
        error = translate(exc, policy_path=path)
        if error is None:
            raise
        raise error from exc
    envelope = {"@id": node.get("@id")}
    for name in ("target", "assigner", "assignee"):
        envelope[name] = _party(normalized, name, path)
    return policy, envelope


# --- writing -------------------------------------------------------------------------------------


def _c(iri: str) -> str:
    for prefix, ns in _OUT_PREFIXES.items():
        rest = iri[len(ns):]
        if iri.startswith(ns) and rest and not rest.startswith("//"):
            return f"{prefix}:{rest}"
    return iri


def _value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    if isinstance(value, IriRef):
        return {"@id": _c(value.iri)}
    if isinstance(value, TypedLiteral):
        out: dict[str, Any] = {"@value": value.value}
        if value.datatype:
            out["@type"] = _c(value.datatype)
        if value.language:
            out["@language"] = value.language
        return out
    return value


def _constraint(c: Constraint) -> dict:
    if isinstance(c, AtomicConstraint):
        return {"odrl:leftOperand": {"@id": _c(c.left_operand)}, "odrl:operator": {"@id": _c(c.operator)},
                "odrl:rightOperand": _value(c.right_operand)}
    return {f"odrl:{c.operator}": [_constraint(x) for x in c.constraints]}


def _rule(rule: Rule) -> dict:
    out: dict[str, Any] = {"odrl:action": {"@id": _c(rule.action)}}
    if rule.constraints:
        out["odrl:constraint"] = [_constraint(c) for c in rule.constraints]
    if rule.duties:
        out["odrl:duty"] = [_rule(d) for d in rule.duties]
    return out


def render_policy(policy: Policy, *, policy_id: str | None, policy_type: str = "Set",
                  target: str | None = None, assigner: str | None = None, assignee: str | None = None) -> dict:
    out: dict[str, Any] = {}
    if policy_id:
        out["@id"] = policy_id
    out["@type"] = f"odrl:{policy_type}"
    if policy.profile:
        out["odrl:profile"] = [{"@id": _c(p)} for p in policy.profile]
    for key, value in (("target", target), ("assigner", assigner), ("assignee", assignee)):
        if value:
            out[f"odrl:{key}"] = {"@id": value}
    out["odrl:permission"] = [_rule(r) for r in policy.permissions]
    out["odrl:prohibition"] = [_rule(r) for r in policy.prohibitions]
    out["odrl:obligation"] = [_rule(r) for r in policy.obligations]
    return out


def render_stored(doc: dict, policy_type: str | None = None) -> dict:
    """EDC-style rendering of a policy stored in the compact DSP form (envelope included)."""
    stored_type = str(doc["@type"]) if isinstance(doc.get("@type"), str) else "Set"
    return render_policy(
        policy_from_compact_dsp(doc), policy_id=doc.get("@id"),
        policy_type=policy_type or stored_type.split(":")[-1],
        target=doc.get("target"), assigner=doc.get("assigner"), assignee=doc.get("assignee"),
    )
