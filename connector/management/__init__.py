"""The management API for the company's own staff: EDC Management API v3, the subset clients use.

Mounted at ``/management`` (``MANAGEMENT_PATH``), paths ``/management/v3/...``, and every call
needs ``X-Api-Key``. Compatible enough that tractusx-sdk drives it unmodified.

It owns the HTTP edge only: reading JSON-LD bodies (``jsonld``, ``odrl``), EDC's error arrays
(``errors``), and one thin module of routes per resource (``assets``, ``policies``,
``contracts``, ``catalog``, ``negotiations``, ``agreements``). The work is done by
``services.definitions`` (what we publish), ``services.queries`` (QuerySpecs, negotiations and
agreements), ``services.remote_catalog`` (a peer's catalog over DSP) and
``services.negotiation`` (negotiating). ``transferprocesses`` (``transfers``) and the consumer's EDR
cache (``edrs``) are done by ``services.transfer`` and ``services.edr_cache``.
"""

from fastapi import APIRouter, Depends

from connector.config import MANAGEMENT_PATH
from connector.management import (
    accepted,
    agreements,
    assets,
    catalog,
    contracts,
    edr_cache,
    footprints,
    groups,
    negotiations,
    parts,
    peers,
    policies,
    policy_dry_run,
    transfers,
)
from connector.management.deps import require_api_key

router = APIRouter(prefix=MANAGEMENT_PATH, dependencies=[Depends(require_api_key)])
for _module in (assets, policies, contracts, catalog, negotiations, agreements, groups, policy_dry_run, accepted,
                transfers, edr_cache, footprints, parts, peers):
    router.include_router(_module.router)
router.include_router(agreements.sdk_alias)

__all__ = ["router"]
