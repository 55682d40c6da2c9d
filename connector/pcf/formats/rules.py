"""What a footprint must satisfy beyond its schema.

- Unknown fields are refused, naming the closest known one. Catena-X models are closed; PACT
  allows extra fields (its own example puts otherOperatorName on pcf), so there only a field that
  looks like a misspelt known one is refused; the others are kept (carried) and written back.
- PACT: ids are UUIDs, timestamps are RFC 3339, and pcfExcludingBiogenicUptake is not negative
  (the schema's decimal pattern allows a sign; Catena-X's schema already says minimum 0).
"""

from __future__ import annotations

import difflib
import re
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.pcf.formats.common import CARRIED_KEY
from connector.pcf.formats.schemas import json_path, schema

PACT_FORMATS = ("pact-2", "pact-3")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _resolve(node: dict, root: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _unknown_fields(doc, node: dict, root: dict, path: list, pact: bool, out: list) -> None:
    node = _resolve(node, root)
    if isinstance(doc, dict) and "properties" in node:
        known = node["properties"]
        for key, value in doc.items():
            if key in known:
                if not (pact and path == [] and key == "extensions"):
                    _unknown_fields(value, known[key], root, path + [key], pact, out)
                continue
            if key == CARRIED_KEY and not path:
                continue
            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.8 if pact else 0.6)
            if pact and not close:
                continue
            hint = f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(sorted(known))}"
            out.append((json_path(path + [key]), f"unknown field{hint}"))
    elif isinstance(doc, list) and "items" in node:
        for index, item in enumerate(doc):
            _unknown_fields(item, node["items"], root, path + [index], pact, out)


def _pact_problems(doc: dict, out: list) -> None:
    for key in ("id",):
        if isinstance(doc.get(key), str):
            try:
                uuid.UUID(doc[key])
            except ValueError:
                out.append((key, f"{doc[key]!r} is not a UUID"))
    for index, pf_id in enumerate(doc.get("precedingPfIds") or []):
        try:
            uuid.UUID(str(pf_id))
        except ValueError:
            out.append((f"precedingPfIds[{index}]", f"{pf_id!r} is not a UUID"))
    pcf: dict[str, Any] = doc["pcf"] if isinstance(doc.get("pcf"), dict) else {}
    stamps = [(k, doc.get(k)) for k in ("created", "updated", "validityPeriodStart", "validityPeriodEnd")]
    stamps += [(f"pcf.{k}", pcf.get(k)) for k in ("referencePeriodStart", "referencePeriodEnd")]
    for path, value in stamps:
        if isinstance(value, str) and not _is_timestamp(value):
            out.append((path, f"{value!r} is not an RFC 3339 date-time like 2025-01-31T00:00:00Z"))
    for key in ("pcfExcludingBiogenicUptake", "pCfExcludingBiogenic"):
        value = pcf.get(key)
        if isinstance(value, str):
            try:
                if Decimal(value) < 0:
                    out.append((f"pcf.{key}", f"must not be negative, got {value}"))
            except InvalidOperation:
                out.append((f"pcf.{key}", f"{value!r} is not a decimal number"))


def _is_timestamp(value: str) -> bool:
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def problems(doc: dict, fmt: str) -> list[tuple[str, str]]:
    fmt = str(fmt)
    root = schema(fmt)
    out: list[tuple[str, str]] = []
    _unknown_fields(doc, root, root, [], fmt in PACT_FORMATS, out)
    if fmt in PACT_FORMATS:
        _pact_problems(doc, out)
    return out
