"""The operations edge: what a load balancer, Prometheus and a log shipper need.

- ``GET /health/live``: the process answers (200);
- ``GET /health/ready``: the database answers, its schema is the newest migration, our keys are
  loaded; 503 naming the failing check otherwise (``health``);
- ``GET /metrics``: Prometheus text, behind a management key unless ``[metrics] public`` (``metrics``);
- every request timed and given a correlation id (``middleware``); JSON log lines (``logs``);
- per-peer rate limits on the DSP edge (``[limits]``, ``connector.dsp.limits``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from connector.config import Settings


def attach(app: FastAPI, settings: Settings, services: Any) -> None:
    from connector.ops.health import router as health_router
    from connector.ops.metrics import Metrics
    from connector.ops.metrics import router as metrics_router
    from connector.ops.middleware import RequestObserver

    metrics = Metrics(services.db) if settings.metrics.enabled else None
    app.state.metrics = metrics
    app.include_router(health_router)
    if metrics is not None:
        app.include_router(metrics_router)
    app.add_middleware(RequestObserver, metrics=metrics)
    if settings.limits.peer_requests_per_second > 0:  # [limits]: per-peer token buckets on the DSP edge
        from connector.dsp.limits import rate_limited
        from connector.services.ratelimit import RateLimited, RateLimiter

        app.state.peer_limiter = RateLimiter(settings.limits.peer_requests_per_second, settings.limits.peer_burst)
        app.add_exception_handler(RateLimited, rate_limited)
