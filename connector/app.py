"""The ASGI application of one connector: its HTTP edges, its worker, its lifespan."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from connector.config import Settings
from connector.services.container import Container, build

log = logging.getLogger("pontis")


def create_app(settings: Settings, container: Container | None = None, *, run_worker: bool = True) -> FastAPI:
    if container is None and settings.tck:  # the test profile's playbook (connector.tck), wired here at the edge
        from connector.tck import tck_playbook

        container = build(settings, playbook=tck_playbook(settings))
    services = container or build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services.db.migrate()
        if settings.seed_file:
            from connector.services.seed import load_seed

            load_seed(services, settings.seed_file)
        task = asyncio.create_task(services.worker.run()) if run_worker else None
        # the data plane's pushes and its sweep of stale pull transfers run beside the worker
        flows = services.dataflows
        flow_task = asyncio.create_task(flows.run()) if run_worker else None
        # the CX-0136 exchange sends stored PCF answers and updates beside them
        exchange = services.pcf_exchange
        exchange_task = asyncio.create_task(exchange.run()) if run_worker else None
        pact = getattr(app.state, "pact", None)  # the PACT API ([pact]): its start-up files and events
        if pact is not None:
            await pact.start()
        # provenance traversal jobs (connector.provenance.jobs) are rows advanced by their own worker
        jobs_task = asyncio.create_task(app.state.provenance_jobs.run()) if run_worker else None
        renewal = app.state.credential_renewal  # DCP issuance: fresh credentials before the held ones expire
        renewal_task = asyncio.create_task(renewal.run()) if run_worker and renewal is not None else None
        mqtt = app.state.mqtt  # [mqtt]: our MQTT broker and the AAS events it emits (connector.mqtt)
        if mqtt is not None:
            await mqtt.start()
            services.dataflows.mqtt.broker.bound(mqtt.server.ports)  # ADR 012 EDRs name the bound ports
        log.info("connector %s serving DSP at %s", settings.participant_id, settings.dsp_url)
        log.info("admin console at %s/ui/ (log in with the api_key)", settings.public_url)
        try:
            yield
        finally:
            if mqtt is not None:
                await mqtt.stop()
            if pact is not None:
                await pact.stop()
            if renewal is not None:
                renewal.stop()
                if renewal_task is not None:
                    await asyncio.wait([renewal_task], timeout=5)
            app.state.provenance_jobs.stop()
            if jobs_task is not None:
                await asyncio.wait([jobs_task], timeout=5)
            services.worker.stop()
            exchange.stop()
            if exchange_task is not None:
                await asyncio.wait([exchange_task], timeout=5)
            await services.pcf_client.aclose()
            if task is not None:
                await asyncio.wait([task], timeout=5)
            flows.stop()
            if flow_task is not None:
                await asyncio.wait([flow_task], timeout=5)
            await flows.aclose()
            await services.client.aclose()
            services.db.dispose()

    # no public /docs or /openapi.json: the API is described for staff only, at /management/docs
    from connector.dataplane.zerocopy import ConnectorApp  # FastAPI that sends stored files with sendfile

    app = ConnectorApp(title="Pontis connector", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    from connector.provenance.jobs import JobService

    app.state.provenance_jobs = JobService(services, clock=services.negotiations.clock)

    from connector.dsp import router as dsp_router
    from connector.dsp import well_known_router

    app.include_router(well_known_router)
    from connector.identity.web import did_router

    app.include_router(did_router(settings, services.identity))
    from connector.identity.holder_web import renewal_from_settings, storage_router

    # DCP issuance, holder side: issuers deliver credentials to POST <Credential Service>/credentials
    app.include_router(storage_router(settings, services.identity,
                                      replay=services.replay))
    app.state.credential_renewal = renewal_from_settings(settings, services.identity, services.guard)
    from connector.mqtt.service import build_mqtt

    app.state.mqtt = build_mqtt(settings, services)
    from connector.identity.credential_service_web import router as credential_service_router

    app.include_router(credential_service_router)

    from connector.gaiax.web import gaiax_router

    app.include_router(gaiax_router(settings, services.db))  # [gaiax]: our chain and credentials
    app.include_router(dsp_router)
    if settings.tck:
        from connector.tck.routes import router as tck_router

        app.include_router(tck_router)
    from connector.management import router as management_router

    app.include_router(management_router)
    from connector.management.irs import router as irs_router

    app.include_router(irs_router)
    from connector.management.openapi import router as management_docs_router

    app.include_router(management_docs_router)  # /management/docs and /openapi.json, behind the key
    from connector.web import router as web_router  # the admin console, behind the management key

    app.include_router(web_router)
    from connector.dataplane import router as dataplane_router

    app.include_router(dataplane_router)
    from connector.pact import attach as attach_pact

    attach_pact(app, settings, services)
    from connector.management.staff import oidc_verifier

    app.state.staff_oidc = oidc_verifier(settings)  # [management.oidc]: staff's bearer tokens
    from connector import ops  # /health, /metrics, correlation ids, request latency

    ops.attach(app, settings, services)
    _attach_audit(app, settings, services)
    return app


def _attach_audit(app: FastAPI, settings: Settings, services: Container) -> None:
    """The audit log (connector.services.audit): row changes, data-plane accesses, management writes;
    the data plane's bytes also go to the metrics."""
    from connector.dataplane.audit import DataAccessAudit

    metrics = app.state.metrics
    if not settings.audit.enabled:
        app.state.audit = None
        if metrics is not None:
            app.add_middleware(DataAccessAudit, trail=None, metrics=metrics)
        return
    from connector.management.audit_trail import ManagementWriteAudit
    from connector.services.audit import AuditTrail

    trail = AuditTrail(services.db, settings.participant_id, identity=services.identity,
                       checkpoint_every=settings.audit.checkpoint_every, clock=services.negotiations.clock).install()
    if metrics is not None:
        trail.listeners.append(metrics.audited)
    app.state.audit = trail
    app.add_middleware(DataAccessAudit, trail=trail, metrics=metrics)
    app.add_middleware(ManagementWriteAudit, trail=trail, settings=settings)
