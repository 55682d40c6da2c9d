"""What a traversal has found so far, and the IRS answer made from it.

``Graph`` is filled by the walk and read by the job (partial results while it runs). Every node
carries whether its data's signature verified: ``verified`` (each submodel fetched carried the
owner's valid proof), ``unsigned`` (no proof), ``invalid`` (a proof that failed: the reason is
kept) or ``None`` (nothing fetched: a tombstone). The IRS shapes have no place for that, so it is
reported in an extra top-level ``nodes`` array, beside ``job``, ``relationships``, ``shells``,
``submodels``, ``tombstones`` and ``bpns``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.parts.models import normal_id
from connector.provenance.aspects import Link
from connector.provenance.job import iso

LABEL_KEYS = ("van", "partInstanceId", "batchId", "jisNumber", "manufacturerPartId")


@dataclass
class Node:
    id: str
    bpn: str
    depth: int
    label: str | None = None
    signature: str | None = None  # verified | unsigned | invalid | None (nothing fetched)
    signed_by: str | None = None
    signature_detail: str | None = None
    done: bool = False

    def record_signature(self, state: str, signer: str | None, detail: str | None) -> None:
        """The worst of what was seen wins: invalid > unsigned > verified (or own: our own data)."""
        rank = {None: -1, "own": 0, "verified": 0, "unsigned": 1, "invalid": 2}
        if rank[state] > rank[self.signature]:
            self.signature, self.signature_detail = state, detail
        if state == "verified" and signer:
            self.signed_by = signer

    def to_json(self) -> dict:
        out: dict[str, Any] = {"catenaXId": self.id, "bpn": self.bpn, "depth": self.depth, "signature": self.signature}
        for key, value in (("label", self.label), ("signedBy", self.signed_by), ("signatureDetail", self.signature_detail)):
            if value:
                out[key] = value
        return out


def shell_label(shell: dict) -> str | None:
    """A name for people: the twin's VIN, serial or batch number, and its part number."""
    ids: dict[str, Any] = {}
    for item in shell.get("specificAssetIds") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str):
            ids.setdefault(item["name"], item["value"])
    first = next((ids[k] for k in LABEL_KEYS[:-1] if k in ids), None)
    part = ids.get("manufacturerPartId")
    if first and part and part != first:
        return f"{first} ({part})"
    return first or part or (shell.get("idShort") if isinstance(shell.get("idShort"), str) else None)


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    links: dict[tuple[str, str], Link] = field(default_factory=dict)
    shells: list[dict] = field(default_factory=list)
    submodels: list[dict] = field(default_factory=list)
    tombstones: list[dict] = field(default_factory=list)
    bpns: dict[str, str | None] = field(default_factory=dict)

    def node(self, part: str, bpn: str, depth: int) -> tuple[Node, bool]:
        """The node for a part, and whether it is new (a part reached twice is visited once)."""
        found = self.nodes.get(normal_id(part))
        if found is not None:
            return found, False
        made = self.nodes[normal_id(part)] = Node(part, bpn, depth)
        self.bpns.setdefault(bpn, None)
        return made, True

    def link(self, link: Link) -> None:
        self.links.setdefault((link.parent, link.child), link)

    def shell(self, node: Node, shell: dict, agreement: str | None) -> None:
        node.label = node.label or shell_label(shell)
        self.shells.append({"contractAgreementId": agreement, "payload": shell})

    def submodel(self, node: Node, urn: str, identification: str | None, agreement: str | None, payload: Any) -> None:
        self.submodels.append({"aspectType": urn, "contractAgreementId": agreement,
                               "identification": identification, "catenaXId": node.id, "payload": payload})

    def tombstone(self, part: str, bpn: str | None, step: str, detail: str, now: int, *, endpoint: str | None = None,
                  policy: dict | None = None, causes: list[str] | None = None) -> None:
        stone: dict[str, Any] = {"catenaXId": part, "businessPartnerNumber": bpn, "endpointURL": endpoint,
                                 "processingError": {"processStep": step, "errorDetail": detail,
                                                     "lastAttempt": iso(now), "retryCounter": 0,
                                                     "rootCauses": causes or [detail]}}
        if policy is not None:
            stone["policy"] = policy
        self.tombstones.append(stone)

    def summary(self) -> dict:
        failed = len({t["catenaXId"] for t in self.tombstones})
        done = sum(1 for n in self.nodes.values() if n.done)
        return {"asyncFetchedItems": {"completed": done, "failed": failed,
                                      "running": sum(1 for n in self.nodes.values() if not n.done)}}

    def to_result(self) -> dict:
        """The IRS answer's item graph (everything but ``job``), plus our ``nodes``."""
        return {
            "relationships": [link.to_irs() for link in self.links.values()],
            "shells": list(self.shells),
            "submodels": list(self.submodels),
            "tombstones": list(self.tombstones),
            "bpns": [{"manufacturerId": bpn, "manufacturerName": name} if name else {"manufacturerId": bpn}
                     for bpn, name in self.bpns.items()],
            "nodes": [n.to_json() for n in self.nodes.values()],
        }
