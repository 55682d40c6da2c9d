"""Small builders for policies in tests (compact JSON in, typed Policy out)."""

from __future__ import annotations

from typing import Any

from connector.policy import Policy, policy_from_compact_dsp


def c(left: str, op: str, right: Any) -> dict:
    return {"leftOperand": left, "operator": op, "rightOperand": right}


FA = c("FrameworkAgreement", "eq", "DataExchangeGovernance:1.0")
MEMBER = c("Membership", "eq", "active")
PCF = c("UsagePurpose", "isAnyOf", ["cx.pcf.base:1"])


def doc(place: str, *constraints: dict, action: str | None = None, wrap: bool = True) -> dict:
    """A compact policy with ``constraints`` in one rule at ``place``
    ("access" | "permission" | "prohibition" | "obligation")."""
    rule_key = "permission" if place == "access" else place
    action = action or ("access" if place == "access" else "use")
    items = [{"and": list(constraints)}] if wrap and len(constraints) > 1 else list(constraints)
    return {"@id": "urn:test", "@type": "Set", rule_key: [{"action": action, "constraint": items}]}


def usage_doc(*constraints: dict) -> dict:
    """A usage permission holding ``constraints`` plus companions, so it has two terms."""
    names = {x.get("leftOperand") for x in constraints}
    extra = [x for x in (FA, PCF) if x["leftOperand"] not in names][: max(0, 2 - len(constraints))]
    return doc("permission", *constraints, *extra)


def policy(d: dict) -> Policy:
    return policy_from_compact_dsp(d)
