"""The walk: from one part, hop by hop through its owners' connectors, into a ``Graph``.

Per node: the owner (by BPN) is asked for the twin's shell; the requested aspects are fetched
(``collectAspects``); unless the node is at the job's depth, the relationship aspect is fetched
and each link becomes a relationship and, for a part not seen before, a new node. Nodes are
walked concurrently (``concurrency`` calls in flight per job), so suppliers are asked at once.

What stops a walk, each leaving a tombstone that says why, while the rest of the tree comes back:
a supplier that is unknown, down, slow (every call has a timeout) or refuses (its reason and the
refused offer are kept); a part reached again on its own path (a cycle: the link is kept, the
part not walked twice; a part reached on two separate paths is simply visited once); a
relationship aspect naming more than ``max_children`` items. The job's deadline is enforced by
its runner (``jobs``), which cancels the walk and turns unfinished nodes into tombstones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from connector.parts.models import normal_id
from connector.provenance.aspects import AspectError, aspect_name, descriptor_urn, read_links, wanted
from connector.provenance.contracts import Refused
from connector.provenance.graph import Graph, Node
from connector.provenance.job import JobParameter
from connector.provenance.suppliers import Fetched

log = logging.getLogger("pontis.provenance")


class Supplier(Protocol):
    bpn: str

    async def shell(self, part: str) -> tuple[dict, str | None]: ...

    async def submodel(self, part: str, descriptor: dict, urn: str) -> Fetched: ...


class Traversal:
    def __init__(self, parameter: JobParameter, graph: Graph, supplier_for: Callable[[str], Any], *,
                 clock: Callable[[], int], max_children: int, concurrency: int) -> None:
        self.p, self.graph, self.supplier_for, self.clock = parameter, graph, supplier_for, clock
        self.max_children = max_children
        self.calls = asyncio.Semaphore(concurrency)
        self.tasks: set[asyncio.Task] = set()

    async def run(self) -> None:
        root, _ = self.graph.node(self.p.global_asset_id, self.p.bpn, 0)
        await self.visit(root, (normal_id(root.id),))
        while self.tasks:  # children spawn children: wait until none is left
            await asyncio.gather(*list(self.tasks))

    def cancel(self) -> None:
        for task in list(self.tasks):
            task.cancel()

    def _spawn(self, node: Node, path: tuple[str, ...]) -> None:
        task = asyncio.create_task(self.visit(node, path))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _stone(self, node: Node, refusal: Refused) -> None:
        self.graph.tombstone(node.id, node.bpn, refusal.step, refusal.detail, self.clock(), endpoint=refusal.endpoint,
                             policy=refusal.policy, causes=refusal.causes)

    async def visit(self, node: Node, path: tuple[str, ...]) -> None:
        try:
            await self._visit(node, path)
        except Refused as refusal:
            self._stone(node, refusal)
        except Exception as exc:  # a bug must not take the whole tree down: the node says what broke
            log.exception("traversal: node %s failed", node.id)
            self.graph.tombstone(node.id, node.bpn, "SubmodelRequest", f"internal error: {type(exc).__name__}: {exc}",
                                 self.clock())
        finally:
            node.done = True

    async def _visit(self, node: Node, path: tuple[str, ...]) -> None:
        supplier = await self.supplier_for(node.bpn)
        async with self.calls:
            shell, agreement = await supplier.shell(node.id)
        self.graph.shell(node, shell, agreement)
        descriptors = [d for d in shell.get("submodelDescriptors") or [] if isinstance(d, dict) and descriptor_urn(d)]
        relationship = self.p.relationship_aspect
        follow = node.depth < self.p.depth
        jobs, chosen = [], False
        for descriptor in descriptors:
            urn = descriptor_urn(descriptor) or ""  # descriptors without one were left out above
            is_relationship = aspect_name(urn) == relationship and not chosen  # one version of it is enough
            chosen = chosen or is_relationship
            collect = self.p.collect_aspects and any(wanted(a, urn) for a in self.p.aspects)
            if (is_relationship and follow) or collect:
                jobs.append(self._aspect(supplier, node, descriptor, urn, is_relationship and follow, collect))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for result in results:
            if isinstance(result, Refused):
                self._stone(node, result)
            elif isinstance(result, BaseException):
                raise result
        for link in next((r for r in results if isinstance(r, list)), []):
            self.graph.link(link)
            part = link.next_part(self.p.direction)
            if normal_id(part) in path:  # the tombstone is this node's: its aspect points back up its own path
                cycle = " → ".join([*path[path.index(normal_id(part)):], normal_id(part)])
                self.graph.tombstone(node.id, node.bpn, "SubmodelRequest", f"cycle: {cycle}; the link is kept, "
                                     f"{part} is not walked again", self.clock())
                continue
            child, new = self.graph.node(part, link.bpn, node.depth + 1)
            if new:
                self._spawn(child, (*path, normal_id(part)))

    async def _aspect(self, supplier: Supplier, node: Node, descriptor: dict, urn: str, relationship: bool,
                      collect: bool) -> list | None:
        async with self.calls:
            fetched = await supplier.submodel(node.id, descriptor, urn)
        node.record_signature(fetched.signature, fetched.signer, fetched.detail)
        if fetched.signature == "invalid":
            raise Refused("SchemaValidation", f"the {aspect_name(urn)} of {node.id} from {node.bpn} carries a proof that "
                          f"does not verify: {fetched.detail}; not used")
        if collect:
            self.graph.submodel(node, urn, descriptor.get("id"), fetched.agreement_id,
                                {k: v for k, v in fetched.payload.items() if k != "proof"}
                                if isinstance(fetched.payload, dict) else fetched.payload)
        if not relationship:
            return None
        try:
            return read_links(urn, fetched.payload, node.id, limit=self.max_children)
        except AspectError as exc:
            raise Refused("SchemaValidation", f"the {aspect_name(urn)} of {node.id} from {node.bpn}: {exc}") from None
