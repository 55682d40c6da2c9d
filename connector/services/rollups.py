"""Roll-ups on the connector: a product's footprint from its BOM and its suppliers' footprints.

``roll_up_bom`` fetches every component's footprint concurrently, in process: a component of our
own BPN is our own Active published footprint, any other comes through ``PcfClient.request`` (what
``POST /v3/pcf/requests`` does: catalog, agreement, transfer, signature check). The arithmetic is
``connector.pcf.rollup``. With ``publish`` (and every component had, or ``allow_missing``) the result
is stored as our own signed footprint (``rolled_up_footprint``), its precedingPfIds naming the
suppliers' footprints; ``connector pcf rollup --publish`` builds its document with the same function.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anyio import to_thread

from connector.pcf.rollup import Bom, Component, Result, Supplied, roll_up
from connector.services.errors import InvalidRequest


@dataclass
class RollupOutcome:
    result: Result
    published: dict | None = None  # the stored footprint's summary, when published

    def to_json(self) -> dict:
        """The shape ``connector pcf rollup --json`` prints."""
        return {**self.result.to_json(), **({"published": self.published} if self.published else {})}


def rolled_up_footprint(result: Result, *, company_name: str | None, bpn: str | None, now: datetime) -> dict:
    """The roll-up as our own footprint document (unsigned), naming the suppliers' footprints it used."""
    from connector.pcf.document import new_footprint

    if not company_name or not bpn:
        raise InvalidRequest("pcf.rollup-publish", "publishing a roll-up needs name and bpn in the config",
                             path="publish")
    suppliers = [ln.footprint_id for ln in result.lines if ln.status == "ok" and ln.footprint_id]
    own = result.bom.own_emissions
    return new_footprint(
        product_id=result.bom.product_id, product_name=result.bom.product_name, company_name=company_name,
        company_bpn=bpn, declared_unit=result.bom.declared_unit, pcf_excluding_biogenic_uptake=result.total,
        now=now, preceding_ids=list(dict.fromkeys(suppliers)),
        description=f"Rolled up: own emissions {own} kg + {len(suppliers)} supplied component footprint(s)")


def supplied_from(document: dict) -> Supplied:
    """A footprint document (signed or not) as what the roll-up uses."""
    from connector.pcf.models import facts

    unsigned = {k: v for k, v in document.items() if k != "proof"}
    return Supplied("ok", facts(unsigned), footprint_id=unsigned.get("id"))


async def _component(services: Any, component: Component) -> Supplied:
    if component.supplier_bpn == services.settings.bpn:  # made in-house: our own published footprint
        row = await to_thread.run_sync(services.pcf.for_product, component.product_id)
        if row is None:
            return Supplied("missing", reason=f"we publish no Active footprint for our own {component.product_id}")
        return supplied_from(row.signed)
    if services.pcf_client is None:
        return Supplied("error", reason="this connector does not request footprints from suppliers")
    outcome = await services.pcf_client.request(component.supplier_bpn, component.product_id)
    if outcome.status != "ok":
        return Supplied(outcome.status, reason=outcome.reason)
    return supplied_from(outcome.footprint)


async def roll_up_bom(services: Any, bom: Bom, *, publish: bool = False, allow_missing: bool = False,
                      usage_policy: str | None = None, access_policy: str | None = None) -> RollupOutcome:
    """Fetch, roll up and (with ``publish``, when complete or ``allow_missing``) publish."""
    supplied = await asyncio.gather(*(_component(services, c) for c in bom.components))
    outcome = RollupOutcome(roll_up(bom, list(supplied)))
    if publish and (allow_missing or not outcome.result.failed):
        outcome.published = await to_thread.run_sync(
            lambda: _publish(services, outcome.result, usage_policy, access_policy))
    return outcome


def _publish(services: Any, result: Result, usage_policy: str | None, access_policy: str | None) -> dict:
    from connector.services.footprints import Incoming, now_datetime, summary

    pcf = services.pcf
    document = rolled_up_footprint(result, company_name=services.settings.name, bpn=services.settings.bpn,
                                   now=now_datetime(pcf.clock()))
    return summary(pcf.publish([Incoming("[0]", document)], usage_policy=usage_policy,
                               access_policy=access_policy)[0])
