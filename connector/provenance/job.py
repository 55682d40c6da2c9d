"""A traversal job's parameters (IRS RegisterJob, validated) and the IRS shapes it is shown in.

Unknown keys are refused with the closest valid name; a value of the wrong kind names its field
and what was expected. ``asBuilt`` is the only lifecycle served (the relationship aspects of
asPlanned/asSpecified are not published by Pontis), and ``callbackUrl`` is refused rather than
ignored: poll ``GET /management/irs/jobs/{id}`` instead.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.provenance.aspects import ASPECT_PATTERN, BPNL, RELATIONSHIP_ASPECTS

MAX_DEPTH = 100
STATES = ("INITIAL", "RUNNING", "COMPLETED", "CANCELED", "ERROR")
DONE = ("COMPLETED", "CANCELED", "ERROR")
REGISTER_KEYS = ("key", "bomLifecycle", "direction", "depth", "aspects", "collectAspects", "lookupBPNs",
                 "callbackUrl", "auditContractNegotiation")
KEY_KEYS = ("globalAssetId", "bpn", "identifier")


class JobInputError(ValueError):
    """A RegisterJob that cannot be run: ``field`` and what was expected."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def _unknown(keys: Any, allowed: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(allowed)}"
            raise JobInputError(f"{where}{key}", f"unknown field{hint}")


@dataclass(frozen=True)
class JobParameter:
    global_asset_id: str
    bpn: str
    direction: str = "downward"
    depth: int = MAX_DEPTH
    aspects: tuple[str, ...] = ()
    collect_aspects: bool = False
    bom_lifecycle: str = "asBuilt"
    lookup_bpns: bool = False
    audit: bool = True
    depth_given: bool = field(default=False, compare=False)

    @property
    def relationship_aspect(self) -> str:
        return RELATIONSHIP_ASPECTS[self.direction]

    def to_irs(self) -> dict:
        out = {"bomLifecycle": self.bom_lifecycle, "direction": self.direction, "depth": self.depth,
               "aspects": list(self.aspects) or [self.relationship_aspect], "collectAspects": self.collect_aspects,
               "lookupBPNs": self.lookup_bpns, "auditContractNegotiation": self.audit}
        return out

    def to_row(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_row(cls, row: dict) -> JobParameter:
        return cls(**{**row, "aspects": tuple(row.get("aspects") or ())})


def _bool(body: dict, name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise JobInputError(name, f"expected true or false, got {value!r}")
    return value


def read_register_job(body: Any) -> JobParameter:
    """The parameters of ``POST /irs/jobs``; JobInputError names the first thing wrong."""
    if not isinstance(body, dict):
        raise JobInputError("body", "expected a RegisterJob JSON object with at least key {globalAssetId, bpn}")
    _unknown(body, REGISTER_KEYS, "")
    key = body.get("key")
    if not isinstance(key, dict):
        raise JobInputError("key", "is required: {\"globalAssetId\": \"urn:uuid:...\", \"bpn\": \"BPNL...\"}")
    _unknown(key, KEY_KEYS, "key.")
    part = key.get("globalAssetId")
    if not isinstance(part, str) or not part.strip() or len(part) > 512:
        raise JobInputError("key.globalAssetId", f"expected the part's id (e.g. urn:uuid:...), got {part!r}")
    bpn = key.get("bpn")
    if not isinstance(bpn, str) or not BPNL.match(bpn):
        raise JobInputError("key.bpn", f"expected the owner's BPNL (BPNL + 12 letters or digits), got {bpn!r}")
    lifecycle = body.get("bomLifecycle", "asBuilt")
    if lifecycle != "asBuilt":
        hint = " (asPlanned and asSpecified are not served)" if lifecycle in ("asPlanned", "asSpecified") else ""
        raise JobInputError("bomLifecycle", f"expected 'asBuilt'{hint}, got {lifecycle!r}")
    direction = body.get("direction", "downward")
    if direction not in RELATIONSHIP_ASPECTS:
        raise JobInputError("direction", f"expected 'downward' or 'upward', got {direction!r}")
    depth = body.get("depth")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH):
        raise JobInputError("depth", f"expected a whole number from 1 to {MAX_DEPTH}, got {depth!r}")
    aspects = body.get("aspects", [])
    if not isinstance(aspects, list):
        raise JobInputError("aspects", f"expected an array of aspect URNs, got {aspects!r}")
    for index, aspect in enumerate(aspects):
        if not isinstance(aspect, str) or not aspect or not ASPECT_PATTERN.match(aspect):
            raise JobInputError(f"aspects[{index}]", "expected an aspect URN with its version (urn:samm:...:1.0.0#Name) "
                                                     f"or an aspect name, got {aspect!r}")
    if body.get("callbackUrl") is not None:
        raise JobInputError("callbackUrl", "not supported: Pontis does not call back; poll GET /management/irs/jobs/{id}")
    return JobParameter(
        global_asset_id=part.strip(), bpn=bpn, direction=direction,
        depth=depth if depth is not None else MAX_DEPTH, aspects=tuple(dict.fromkeys(aspects)),
        collect_aspects=_bool(body, "collectAspects", False), lookup_bpns=_bool(body, "lookupBPNs", False),
        audit=_bool(body, "auditContractNegotiation", True), depth_given=depth is not None)


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
