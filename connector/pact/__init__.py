"""The PACT API (WBCSD Pathfinder technical specifications v2 and v3) on the supplier's connector.

pact/ owns the HTTP edge PACT tools talk to: OAuth2 client credentials (``/auth/token``, one
client per customer, tied to its BPN), ``/3/footprints`` and ``/2/footprints`` (list with paging and
the v3 filters, get by id), ``/3/events`` and ``/2/events`` (CloudEvents; asynchronous requests are
answered at the requester's own events endpoint), and a small PACT client. A client sees only the
footprints the connector's policies allow its BPN (access.py). Configured by ``[pact]``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def attach(app: FastAPI, settings: Any, services: Any) -> None:
    """Serve the PACT API on ``app`` when ``[pact]`` is configured; the app's lifespan calls
    ``app.state.pact.start()`` and ``stop()``."""
    if settings.pact is None:
        app.state.pact = None
        return
    from connector.pact.routes import PactError, error_response, router
    from connector.pact.service import PactApi

    clock = getattr(getattr(services, "negotiations", None), "clock", None)
    if clock is None:
        import time

        def clock() -> int:
            return int(time.time() * 1000)
    app.state.pact = PactApi(settings, services, clock)
    app.add_exception_handler(PactError, lambda request, exc: error_response(exc))
    app.include_router(router)
