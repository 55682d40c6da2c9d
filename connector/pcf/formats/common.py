"""Shared pieces of the format mappings: numbers, JSON paths and the carried patch.

The carried patch makes every mapping lossless for the format a footprint came in: what the 8.0.0
shape cannot hold (a PACT rule operator, a 7.0.0 coverage percentage, a decimal written "1.50") is
kept, as the difference between the original and what the mapping would write back, under
CARRIED_KEY. Writing to that same format again applies it, but only where the mapped value is still
the one it was taken against, so an edited footprint never gets an old value back.
"""

from __future__ import annotations

import copy
import math
from decimal import Decimal, InvalidOperation
from typing import Any

CARRIED_KEY = "x-pontis-carried"
ABSENT = {"absent": True}  # how a patch records "the key was not there" (JSON-safe)


class _Missing:
    """What get_path and dict.get(key, MISSING) give for an absent key; survives deepcopy."""

    def __deepcopy__(self, memo):
        return self

    def __repr__(self) -> str:
        return "MISSING"


_MISSING = _Missing()


def number_from_decimal_string(text: str) -> int | float:
    """PACT decimal string -> JSON number (an int when it has no fraction written)."""
    value = Decimal(text)
    if "." not in text and "e" not in text.lower():
        return int(value)
    return float(value)


def decimal_string(number: Any) -> str:
    """JSON number -> PACT decimal string (`^[+-]?\\d+(\\.\\d+)?$`, never an exponent)."""
    if isinstance(number, bool) or not isinstance(number, (int, float, Decimal)):
        raise TypeError(f"expected a number, got {number!r}")
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {number!r}")
    if isinstance(number, int):
        return str(number)
    text = format(Decimal(repr(number)) if isinstance(number, float) else number, "f")
    return text


def to_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)) if not isinstance(value, float) else Decimal(repr(value))
    except InvalidOperation:
        return None


def same(a: Any, b: Any) -> bool:
    """JSON equality that tells 1 from 1.0 and True from 1 (what a round trip must keep)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def get_path(doc: Any, path: list) -> Any:
    for step in path:
        if isinstance(doc, dict) and isinstance(step, str) and step in doc:
            doc = doc[step]
        elif isinstance(doc, list) and isinstance(step, int) and 0 <= step < len(doc):
            doc = doc[step]
        else:
            return _MISSING
    return doc


def _set_path(doc: Any, path: list, value: Any) -> bool:
    parent = get_path(doc, path[:-1])
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        parent[last] = copy.deepcopy(value)
        return True
    if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        parent[last] = copy.deepcopy(value)
        return True
    return False


def _delete_path(doc: Any, path: list) -> None:
    parent = get_path(doc, path[:-1])
    if isinstance(parent, dict) and path[-1] in parent:
        del parent[path[-1]]


def diff(original: Any, mapped: Any, path: list | None = None) -> list[dict]:
    """The edits that turn `mapped` back into `original`, each with the value it replaces."""
    path = path or []
    if isinstance(original, dict) and isinstance(mapped, dict):
        ops: list[dict] = []
        for key, value in original.items():
            if key not in mapped:
                ops.append({"path": path + [key], "value": value, "was": ABSENT})
            else:
                ops.extend(diff(value, mapped[key], path + [key]))
        for key, value in mapped.items():
            if key not in original:
                ops.append({"path": path + [key], "delete": True, "was": value})
        return ops
    if (isinstance(original, list) and isinstance(mapped, list) and len(original) == len(mapped)
            and all(isinstance(x, dict) for x in original + mapped)):
        ops = []
        for index, (left, right) in enumerate(zip(original, mapped)):
            ops.extend(diff(left, right, path + [index]))
        return ops
    if same(original, mapped):
        return []
    return [{"path": path, "value": original, "was": mapped}]


def apply_patch(doc: dict, ops: list[dict]) -> dict:
    """Apply carried edits where the mapped value is still the one they were taken against."""
    for op in ops:
        current = get_path(doc, op["path"])
        if not same(ABSENT if current is _MISSING else current, op["was"]):
            continue
        if op.get("delete"):
            _delete_path(doc, op["path"])
        elif op["path"]:
            _set_path(doc, op["path"], op["value"])
    return doc


def carry(original: dict, mapped_back: dict, fmt: str) -> dict | None:
    ops = diff(original, mapped_back)
    return {"format": fmt, "patch": ops} if ops else None


def without_carried(doc8: dict) -> dict:
    return {k: v for k, v in doc8.items() if k != CARRIED_KEY}


def carried_patch(doc8: dict, fmt: str) -> list[dict]:
    carried = doc8.get(CARRIED_KEY)
    if isinstance(carried, dict) and carried.get("format") == fmt:
        return carried.get("patch") or []
    return []


def put(target: dict, key: str, value: Any) -> None:
    """Set key only when the source had a value (absent stays absent)."""
    if value is not _MISSING and value is not None:
        target[key] = value


MISSING = _MISSING


# Cross-sectoral standards are spelt differently in every format ("ISO 14067", "ISO Standard 14067",
# "ISO14067"); writing a format uses its spelling of the same standard, other names stay as they are.
_STANDARD_NAMES = {
    "cx-7.0.0": {"iso14067": "ISO Standard 14067", "iso14044": "ISO Standard 14044",
                 "iso14040": "ISO Standard 14040", "pas2050": "PAS 2050", "pef": "PEF",
                 "ghgpproduct": "GHG Protocol Product Standard"},
    "pact-2": {"iso14067": "ISO Standard 14067", "iso14044": "ISO Standard 14044",
               "ghgpproduct": "GHG Protocol Product standard"},
    "pact-3": {"iso14067": "ISO14067", "iso14044": "ISO14040-44", "iso14083": "ISO14083",
               "ghgpproduct": "GHGP-Product", "pef": "PEF", "pas2050": "PAS2050"},
}


def _standard_key(name: str) -> str:
    key = "".join(ch for ch in name.lower() if ch.isalnum()).replace("standard", "")
    key = key.replace("ghgprotocol", "ghgp").replace("iso1404044", "iso14044")
    return key


def standard_names(names: list, fmt: str) -> list:
    table = _STANDARD_NAMES.get(fmt, {})
    out: list = []
    for name in names:
        spelt = table.get(_standard_key(name), name) if isinstance(name, str) else name
        if spelt not in out:
            out.append(spelt)
    return out


def unique(values: list) -> list:
    out: list = []
    for value in values:
        if value not in out:
            out.append(value)
    return out
