"""The Dataspace Protocol HTTP edge (2025-1 HTTPS binding), for peers.

It reads and checks a message (size, JSON, context, type, schema), resolves the caller, hands a
typed message to the services, and renders DSP's answer or error shape. Nothing else lives here.
"""

from connector.dsp.routes import router, well_known_router

__all__ = ["router", "well_known_router"]
