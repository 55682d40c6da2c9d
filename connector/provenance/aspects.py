"""Aspect models as a traversal sees them: names, versions, and the links a relationship aspect names.

A relationship aspect is chosen by direction (asBuilt): SingleLevelBomAsBuilt names a part's
children (``childItems``), SingleLevelUsageAsBuilt its parents (``parentItems``). Versions 3.x
identify parts by ``catenaXId``, 4.0.0 by ``globalAssetId``; both are read. Whichever way the walk
goes, a relationship is parent → child, as IRS reports it (``catenaXId`` the parent,
``linkedItem.childCatenaXId`` the child), and ``bpn`` names the company at the far end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from connector.parts.models import PartDataError, read_submodel, same_id

BOM_AS_BUILT = "SingleLevelBomAsBuilt"
USAGE_AS_BUILT = "SingleLevelUsageAsBuilt"
RELATIONSHIP_ASPECTS = {"downward": BOM_AS_BUILT, "upward": USAGE_AS_BUILT}
BPNL = re.compile(r"^BPNL[A-Za-z0-9]{12}$")
# what RegisterJob.aspects may hold (IRS's pattern): a URN with version, or a bare aspect name
ASPECT_PATTERN = re.compile(r"^(urn:[bs]amm:.*\d\.\d\.\d)?(#)?(\w+)?$")
UNIT_URN = "urn:samm:org.eclipse.esmf.samm:unit:2.1.0#"


class AspectError(ValueError):
    """A relationship aspect whose payload does not have the shape its model requires (names the field)."""


def aspect_name(urn: str) -> str:
    """``urn:samm:io.catenax.serial_part:3.0.0#SerialPart`` → ``SerialPart``."""
    return urn.rsplit("#", 1)[-1] if "#" in urn else urn.rsplit(":", 1)[-1]


def wanted(requested: str, urn: str) -> bool:
    """Does a requested aspect (a full URN, a URN without the fragment, or a bare name) mean ``urn``?"""
    return requested == urn or requested == urn.split("#", 1)[0] or requested == aspect_name(urn)


def descriptor_urn(descriptor: dict) -> str | None:
    """The aspect URN of an AAS submodel descriptor (its semanticId's first key)."""
    semantic = descriptor.get("semanticId")
    keys = semantic.get("keys") if isinstance(semantic, dict) else None
    if isinstance(keys, list) and keys and isinstance(keys[0], dict) and isinstance(keys[0].get("value"), str):
        return keys[0]["value"]
    return None


def part_id(item: dict) -> Any:
    """A part's id under either name: ``globalAssetId`` (4.0) or ``catenaXId`` (3.x)."""
    return item.get("globalAssetId", item.get("catenaXId"))


@dataclass(frozen=True, slots=True)
class Link:
    """One relationship from a relationship aspect: parent → child, and the next part to visit."""

    parent: str
    child: str
    bpn: str  # the company at the far end (the child's downward, the parent's upward)
    aspect: str
    quantity: float | None = None
    unit: str | None = None
    has_alternatives: bool | None = None
    created_on: str | None = None
    last_modified_on: str | None = None

    def next_part(self, direction: str) -> str:
        return self.child if direction == "downward" else self.parent

    def to_irs(self) -> dict:
        linked: dict[str, Any] = {"childCatenaXId": self.child, "lifecycleContext": "asBuilt"}
        if self.quantity is not None:
            lexical = (self.unit or "unit:piece").removeprefix("unit:")
            linked["quantity"] = {"quantityNumber": self.quantity,
                                  "measurementUnit": {"lexicalValue": lexical, "datatypeURI": UNIT_URN + lexical}}
        if self.has_alternatives is not None:
            linked["hasAlternatives"] = self.has_alternatives
        if self.created_on:
            linked["assembledOn"] = self.created_on
        if self.last_modified_on:
            linked["lastModifiedOn"] = self.last_modified_on
        return {"catenaXId": self.parent, "linkedItem": linked, "aspectType": self.aspect, "bpn": self.bpn}


def read_links(urn: str, document: Any, node: str, *, limit: int) -> list[Link]:
    """The links a relationship aspect about ``node`` names, validated with the part models' schemas.

    AspectError for a payload that is malformed, about another part, or names more than ``limit``
    items: that is counted before anything else, since a supplier must not make us validate, let
    alone walk, 100,000 children.
    """
    payload = {k: v for k, v in document.items() if k != "proof"} if isinstance(document, dict) else document
    key = "childItems" if aspect_name(urn) == BOM_AS_BUILT else "parentItems"
    items = payload.get(key) if isinstance(payload, dict) else None
    if isinstance(items, list) and len(items) > limit:
        raise AspectError(f"payload.{key}: {len(items)} items, more than the per-node limit of {limit}; not followed")
    try:
        found = read_submodel(urn, payload)
    except PartDataError as exc:
        raise AspectError(str(exc)) from None
    about = part_id(payload)
    if not isinstance(found, list) or not isinstance(about, str) or not same_id(about, node):
        raise AspectError(f"payload: expected the {aspect_name(urn)} of {node}, got one about {about!r}")
    links = []
    for item, rel in zip(items or [], found):
        links.append(Link(rel.parent_id, rel.child_id, rel.bpn, aspect_name(urn), rel.quantity, rel.unit,
                          item.get("hasAlternatives") if isinstance(item.get("hasAlternatives"), bool) else None,
                          rel.created_on, item.get("lastModifiedOn") if isinstance(item.get("lastModifiedOn"), str)
                          else None))
    return links
