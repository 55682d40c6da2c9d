"""The policy editor's form: a policy (compact DSP JSON) as one form field per value, named by its
field path (``permission[0].constraint[0].and[1].leftOperand``), and back.

The names are the paths the validator reports, so an error lands at its own field, in the browser
as the admin types and in the page the server renders after a refused save. The browser runs no
policy logic: it sends the fields, the server builds and checks the policy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from connector.policy.suggest import (
    OPERANDS,
    SPACES,
    operands_for,
    profile_operands,
    spaces_of,
    unknown_operand_expected,
)

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
CONSTRAINT_PARTS = ("leftOperand", "operator", "rightOperand")
RULE_KINDS = ("permission", "prohibition", "obligation")
# the operand ordering lives in connector.policy.suggest (the management API uses it too)
__all__ = ["OPERANDS", "operands_for", "profile_operands", "templates_for", "with_profile_hints"]


def templates_for(names: list[str], dataspace: str, gaiax: bool = False) -> list[str]:
    """The template names, the configured data space's first (``fx-...`` for Factory-X)."""
    prefixes = [SPACES[space][2] for space in spaces_of(dataspace, gaiax) if SPACES[space][2]]

    def rank(name: str) -> int:
        return next((i for i, p in enumerate(prefixes) if name.startswith(p)), len(prefixes))

    return sorted(names, key=rank)


def with_profile_hints(problems: list[dict], policy: dict, dataspace: str, gaiax: bool = False) -> list[dict]:
    """Unknown-operand refusals pointing at the closest operand of the configured data space
    (then of any data space this connector speaks): ``connector.policy.suggest``'s rule."""
    fields = flatten(policy)
    out = []
    for problem in problems:
        written = fields.get(problem.get("path") or "")
        if problem.get("code") == "unknown-operand" and isinstance(written, str):
            problem = {**problem, "expected": unknown_operand_expected(written, dataspace, gaiax)}
        out.append(problem)
    return out


OPERATORS = ("eq", "neq", "lt", "lteq", "gt", "gteq", "isAnyOf", "isAllOf", "isNoneOf", "isPartOf", "hasPart",
             "isA")


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Leaf values by field path; lists of plain values (right operands, contexts) are leaves."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{path}.{key}" if path else key))
        return out
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{path}[{i}]"))
        return out
    return {path: value}


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def read_value(text: str) -> Any:
    """A field's text as JSON when it is a list, object, number or boolean; otherwise the text."""
    text = text.strip()
    if text[:1] in "[{-0123456789tf" and text:
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        if isinstance(parsed, (list, dict, int, float, bool)):
            return parsed
    return text


def unflatten(fields: dict[str, str]) -> dict:
    """The policy the fields describe. List indices are kept in order and closed up, so rows the
    editor removed leave no holes."""
    root: dict = {}
    for path, text in fields.items():
        tokens = [(name, int(index) if index else None) for name, index in _TOKEN.findall(path)]
        if not tokens or not isinstance(text, str):
            continue
        node: Any = root
        for (name, index), nxt in zip(tokens, tokens[1:] + [("", None)]):
            last = nxt == ("", None)
            key: Any = name if name else index
            container_default: Any = {} if nxt[0] else {"__list__": True}
            if last:
                node[key] = read_value(text)
            else:
                node = node.setdefault(key, container_default)
    return _close(root)


def _close(node: Any) -> Any:
    if isinstance(node, dict):
        if node.pop("__list__", False):
            return [_close(node[k]) for k in sorted(k for k in node)]
        return {k: _close(v) for k, v in node.items()}
    return node


@dataclass
class ConstraintRow:
    prefix: str  # e.g. permission[0].constraint[0].and[1]
    left: str
    operator: str
    right: str


@dataclass
class RuleBlock:
    path: str  # e.g. permission[0]
    kind: str
    action: str
    rows: list[ConstraintRow] = field(default_factory=list)


@dataclass
class Editor:
    rules: list[RuleBlock]
    hidden: dict[str, str]  # everything else (@context, @type, ...), carried as is


def editor_of(policy: dict) -> Editor:
    """The rule blocks and constraint rows of a policy, for the form."""
    fields = flatten({k: v for k, v in policy.items() if k != "@id"})
    rules: dict[str, RuleBlock] = {}
    rows: dict[str, dict[str, str]] = {}
    hidden: dict[str, str] = {}
    for path, value in fields.items():
        head, _, last = path.rpartition(".")
        rule_path = path.split(".", 1)[0]
        kind = rule_path.split("[", 1)[0]
        if kind in RULE_KINDS and "[" in rule_path:
            block = rules.setdefault(rule_path, RuleBlock(rule_path, kind, ""))
            if path == rule_path + ".action":
                block.action = as_text(value)
                continue
            if last in CONSTRAINT_PARTS:
                rows.setdefault(head, {})[last] = as_text(value)
                continue
        hidden[path] = as_text(value)
    for prefix, parts in rows.items():
        rules[prefix.split(".", 1)[0]].rows.append(ConstraintRow(
            prefix, parts.get("leftOperand", ""), parts.get("operator", ""), parts.get("rightOperand", "")))
    return Editor(list(rules.values()), hidden)


def policy_fields(form: dict) -> dict[str, str]:
    """The form's policy fields: every name that is a field path of the policy."""
    skip = {"csrf", "policy_id", "template", "editing"}
    return {k: v for k, v in form.items() if k not in skip and isinstance(v, str)}
