"""The Dataspace Protocol HTTP edge (2025-1 HTTPS binding), for peers.

It reads and checks a message (size, JSON, context, type, schema), resolves the caller, hands a
typed message to the services, and renders DSP's answer or error shape. Nothing else lives here.
"""

from fastapi import APIRouter

from connector.dsp import negotiations, routes, transfers

well_known_router = routes.well_known_router
router = APIRouter()
router.include_router(routes.router)
router.include_router(negotiations.router)
router.include_router(transfers.router)

__all__ = ["router", "well_known_router"]
