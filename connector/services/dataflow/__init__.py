"""The provider's data flows: answer pull requests, refresh EDRs, push to consumers, end stale pulls.

``DataFlowService`` is what the data plane edge (``connector.dataplane``) and the transfer service
(as its ``DataFlows``) use. What an asset's data address can name (``Asset.data_address``, flat keys):

- ``PontisDocument``: ``{"type": "PontisDocument", "document": <JSON>, "contentType"?}``, a JSON(-LD)
  document published in the connector itself (``document`` may also be JSON text, or a JSON-LD
  ``{"@type": "@json", "@value": ...}`` literal as the management API stores it);
- ``PontisFile``: ``{"type": "PontisFile", "path": "rel/path", "contentType"?}``, under ``[dataplane] files_dir``;
- ``HttpData`` (as EDC): ``baseUrl``, ``path``, ``queryParams``, ``method``; the flags ``proxyPath``,
  ``proxyQueryParams``, ``proxyMethod``, ``proxyBody`` let the consumer's path, query, method and body
  through; ``header:X-Name`` headers, an ``authKey``/``authCode`` header, or OAuth2 client credentials
  (``oauth2:tokenUrl``, ``oauth2:clientId``, ``oauth2:clientSecret``, ``oauth2:scope``);
- ``Mqtt`` (Factory-X ADR 012): a broker's stream, offered as ``Mqtt-PULL``; not served here but
  through a broker, with the EDR ``mqtt`` issues (``services.dataflow.mqtt``).

Bodies stream in both directions (``sources``); a stored file and a large backend body may be
handed to the server whole (``StoredFile``, ``BackendBody.handoff``) so that the bytes move by
sendfile/splice without passing through Python (``connector.dataplane.zerocopy``). A backend failing midway aborts the reply (the
consumer sees a broken body, never a short one that looks complete) and terminates the transfer
with the reason. Every backend and push destination passes the SSRF guard (``ssrf``). Pushes
(``push``) run beside the outbox worker, never inside a DSP request. ``sweep`` ends pull transfers
that would otherwise stay STARTED forever: their agreement lapsed, or their EDR expired unrefreshed.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
from anyio import to_thread
from sqlalchemy import Row, update
from sqlmodel import Session, col, select

from connector.config import DataPlaneSettings
from connector.config.mqtt import MqttSettings
from connector.protocol import Role
from connector.protocol.transfer_messages import DataAddress
from connector.services.audit.trail import note_transfer
from connector.services.dataflow.mqtt import MQTT_PULL, BrokerEndpoints, BrokerUnavailable, MqttStreams, is_mqtt
from connector.services.dataflow.push import Pusher
from connector.services.dataflow.sources import DataRequest, Reply, SourceFailed, Sources, StoredFile
from connector.services.edr_tokens import EdrError, EdrIssuer, ProviderDataFlows, TokenPair, bare_token
from connector.services.errors import InvalidRequest, ServiceError
from connector.services.ssrf import Allowlist, SsrfRefused, check_backend_url, guarded_session
from connector.store import Database
from connector.store.models import Agreement, Asset, DataFlow, EdrGrant, TransferProcess

__all__ = ["DataFlowService", "DataRequest", "Reply", "SourceFailed", "StoredFile"]

if TYPE_CHECKING:
    from connector.services.transfer import TransferService

log = logging.getLogger("pontis.dataflow")

PULL, PUSH = "HttpData-PULL", "HttpData-PUSH"
SWEEP_BATCH = 500  # STARTED pulls checked per read transaction


def _destination_url(destination: dict | None) -> str:
    address = DataAddress.from_json(destination or {})
    return address.endpoint or address.get("baseUrl") or ""


class DataFlowService(ProviderDataFlows):
    def __init__(self, db: Database, issuer: EdrIssuer, settings: DataPlaneSettings, *, clock: Callable[[], int],
                 owner: str, signer: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        super().__init__(issuer)
        self.db = db
        self.settings = settings
        self.clock = clock
        self.allowlist = Allowlist.parse(settings.allowlist)
        # an aiohttp session belongs to one event loop: one per loop that asks (in production, one)
        self._sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.sources = Sources(self.session, self.allowlist, settings, clock, signer=signer)
        self.pusher = Pusher(db, self.sources, self.session, self.allowlist, clock=clock, owner=owner)
        self.transfers: TransferService | None = None  # set by the container: it needs us first
        # ADR 012 streams; the container gives it our broker's URLs and the guarded client for IdPs
        self.mqtt = MqttStreams(issuer, BrokerEndpoints(MqttSettings(), lambda settings, ports: {}))
        self._stopping = False
        self._wakeup: asyncio.Event | None = None

    def _transfers(self) -> TransferService:
        if self.transfers is None:
            raise RuntimeError("the data plane has no TransferService: build it with connector.services.container")
        return self.transfers

    def session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            session = self._sessions[loop] = guarded_session(self.allowlist)
        return session

    # --- pull: one request -------------------------------------------------------------------

    async def serve(self, authorization: str | None, request: DataRequest) -> Reply:
        """Check the token, the transfer and the agreement, then answer from the asset's source."""
        transfer_id, address, request.caller, request.consumer = await to_thread.run_sync(
            self._authorize, authorization, self.clock())
        note_transfer(transfer_id)  # the audit log's data-plane entry names it

        async def failed(reason: str) -> None:
            log.warning("transfer %s: %s", transfer_id, reason)
            await to_thread.run_sync(self._terminate, transfer_id, reason, "backend-failed")
        return await self.sources.open(address, request, failed)

    def _authorize(self, authorization: str | None, now: int) -> tuple[str, dict, tuple[str, str | None], dict]:
        with self.db.read() as session:
            ok = self.issuer.authorize(session, authorization, now)
            asset = session.get(Asset, ok.transfer.asset_id)
            if asset is None:
                raise EdrError(404, f"asset {ok.transfer.asset_id} no longer exists", code="asset_gone")
            # the consumer as verified when it asked for the transfer (its token and credentials)
            claims = dict((ok.transfer.private_properties or {}).get("consumerClaims") or {})
            bpn = claims.get("bpn")
            caller = (ok.transfer.counterparty_id, bpn if isinstance(bpn, str) else None)
            return ok.transfer.id, dict(asset.data_address or {}), caller, claims

    # --- EDR refresh (Tractus-X refresh-token grant) ------------------------------------------

    async def refresh(self, grant_type: str | None, refresh_token: str | None, authorization: str | None) -> dict:
        """The OAuth 2 token response for a refresh request, or EdrError with the OAuth error code."""
        if grant_type != "refresh_token":
            raise EdrError(400, f"grant_type must be 'refresh_token', got {grant_type!r}", code="unsupported_grant_type")
        if not refresh_token:
            raise EdrError(400, "the refresh_token parameter is required", code="invalid_request")
        if not bare_token(authorization):
            raise EdrError(401, "send the access token issued with the refresh token in the Authorization header",
                           code="invalid_client")
        pair = await to_thread.run_sync(self._refresh, authorization, refresh_token, self.clock())
        return {"access_token": pair.access_token, "token_type": "Bearer", "expires_in": pair.expires_in,
                "refresh_token": pair.refresh_token, "refresh_endpoint": self.issuer.refresh_endpoint}

    def _refresh(self, authorization: str | None, refresh_token: str, now: int) -> TokenPair:
        # an STS token is checked (its DID resolved) before the transaction opens
        authorization, caller = self.issuer.sts_refresh(authorization, now)
        if caller is not None:
            log.info("EDR refresh authenticated by the STS token of %s", caller)
        try:
            with self.db.write() as session:
                return self.issuer.refresh(session, authorization, refresh_token, now, renew=self._renew,
                                           caller=caller)
        except EdrError as exc:
            if exc.revoke:  # TX profile: a refused refresh invalidates the transfer's tokens
                with self.db.write() as session:
                    self.issuer.revoke(session, exc.revoke, exc.reason)
            raise

    def _renew(self, transfer: TransferProcess) -> tuple[str, int]:
        """The next token from an external MQTT broker's IdP (refreshing an ADR 012 oauth2 EDR)."""
        with self.db.read() as session:
            asset = session.get(Asset, transfer.asset_id)
            address = dict(asset.data_address or {}) if asset is not None else {}
        if not is_mqtt(address):
            raise EdrError(400, f"asset {transfer.asset_id} no longer names the broker's IdP", code="invalid_grant")
        return self.mqtt.external_token(address)

    # --- the transfer service's hooks -------------------------------------------------------------

    def start_address(self, session: Session, transfer: TransferProcess, now: int) -> DataAddress | None:
        if transfer.transfer_type == MQTT_PULL:
            try:
                return self.mqtt.address(session, transfer, now)
            except EdrError as exc:  # the broker's IdP failed: the consumer hears why
                raise BrokerUnavailable("transfer.broker-unavailable", "the provider could not get a token for "
                                        f"the MQTT broker: {exc.reason}", path="format") from exc
        return super().start_address(session, transfer, now)

    def check_transfer(self, session, transfer: TransferProcess, agreement: Agreement, now: int) -> None:
        """As ProviderDataFlows, refuse a format the asset is not offered in, and register a push
        (or re-arm it when the consumer resumes)."""
        super().check_transfer(session, transfer, agreement, now)
        if transfer.role == Role.PROVIDER.value:
            self._check_format(session, transfer)
        if transfer.role != Role.PROVIDER.value or transfer.transfer_type != PUSH:
            return
        try:  # no DNS inside the transaction; the push itself checks again, resolved
            check_backend_url(_destination_url(transfer.data_destination), self.allowlist, resolve=False)
        except SsrfRefused as exc:
            raise InvalidRequest("dataAddress.endpoint", f"the push destination is refused: {exc.reason}",
                                 path="dataAddress") from exc
        flow = session.get(DataFlow, transfer.id)
        if flow is None:
            session.add(DataFlow(transfer_id=transfer.id, created_at=now, updated_at=now))
        elif flow.status in ("pending", "running"):
            flow.status, flow.lease_owner, flow.lease_until, flow.updated_at = "pending", None, 0, now
            session.add(flow)

    @staticmethod
    def _check_format(session: Session, transfer: TransferProcess) -> None:
        asset = session.get(Asset, transfer.asset_id)
        stream = asset is not None and is_mqtt(asset.data_address)
        if stream and transfer.transfer_type != MQTT_PULL:
            raise InvalidRequest("format.unsupported", f"asset {transfer.asset_id} is an MQTT stream, offered as "
                                 f"{MQTT_PULL} only; {transfer.transfer_type} is not offered for it", path="format")
        if not stream and transfer.transfer_type == MQTT_PULL:
            raise InvalidRequest("format.unsupported", f"asset {transfer.asset_id} is not an MQTT stream; "
                                 f"{MQTT_PULL} is not offered for it (its distribution is {PULL})", path="format")

    def ended(self, session, transfer: TransferProcess, now: int) -> None:
        super().ended(session, transfer, now)
        self.pusher.cancelled.add(transfer.id)  # stops a push of it running in this process
        flow = session.get(DataFlow, transfer.id)
        if flow is not None and flow.status == "running":  # a resumed transfer pushes again
            flow.status, flow.lease_owner, flow.lease_until, flow.updated_at = "pending", None, 0, now
            session.add(flow)

    def _terminate(self, transfer_id: str, reason: str, code: str) -> None:
        """End a transfer with a reason the consumer and staff can read; revoke its EDRs now."""
        with self.db.write() as session:
            self.issuer.revoke(session, transfer_id, reason)
        try:
            self._transfers().terminate(transfer_id, reason, code=code)
        except ServiceError as exc:
            log.info("transfer %s was not terminated (%s): %s", transfer_id, exc, reason)
            return
        with self.db.write() as session:  # terminate() keeps the reason in .error; staff read error_detail
            row = session.get(TransferProcess, transfer_id, with_for_update=True)
            if row is not None and not row.error_detail:
                row.error_detail = reason
                session.add(row)

    # --- pushes and the sweep, in the background ------------------------------------------------

    async def _push(self, transfer_id: str) -> None:
        ok, reason = await self.pusher.push(transfer_id)
        if reason is not None:
            await to_thread.run_sync(self._terminate, transfer_id, reason, "push-failed")
        elif ok:
            try:
                await to_thread.run_sync(self._transfers().complete, transfer_id)
            except ServiceError as exc:
                log.info("pushed transfer %s could not be completed: %s", transfer_id, exc)

    async def run_once(self) -> int:
        """Run every due push to its end, then sweep; for tests that drive time themselves."""
        ids = await to_thread.run_sync(self.pusher.claim, 1000)
        await asyncio.gather(*(self._push(pid) for pid in ids))
        await self.sweep()
        return len(ids)

    async def run(self, idle_seconds: float = 0.5) -> None:
        self._wakeup = asyncio.Event()
        await to_thread.run_sync(self.pusher.release_own)
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task] = set()
        next_sweep = 0.0
        while not self._stopping:
            self._wakeup.clear()
            try:
                room = self.settings.push_concurrency - len(tasks)
                for pid in (await to_thread.run_sync(self.pusher.claim, room)) if room > 0 else []:
                    task = asyncio.create_task(self._push(pid))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + self.settings.sweep_seconds
                    await self.sweep()
            except Exception:  # a database hiccup must not stop the data plane
                log.exception("data flow round failed")
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=idle_seconds)
            except TimeoutError:
                pass
        for task in tasks:  # their leases run out; a restart or another replica pushes again
            task.cancel()

    def stop(self) -> None:
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()

    async def sweep(self) -> list[str]:
        """Terminate STARTED pulls whose agreement lapsed or whose EDR expired unrefreshed."""
        ended = await to_thread.run_sync(self._stale, self.clock())
        for transfer_id, (reason, code) in ended.items():
            await to_thread.run_sync(self._terminate, transfer_id, reason, code)
        return list(ended)

    def _stale(self, now: int) -> dict[str, tuple[str, str]]:
        """Read first, in batches: a quiet round takes no write lock at all."""
        self._cancel_orphaned_pushes(now)
        out: dict[str, tuple[str, str]] = {}
        after = ""
        while True:
            with self.db.read() as session:
                batch = session.execute(
                    select(col(TransferProcess.id), col(TransferProcess.agreement_id),
                           col(TransferProcess.private_properties))
                    .where(TransferProcess.role == Role.PROVIDER.value,
                           col(TransferProcess.transfer_type).in_((PULL, MQTT_PULL)),
                           TransferProcess.state == "STARTED", col(TransferProcess.id) > after)
                    .order_by(col(TransferProcess.id)).limit(SWEEP_BATCH)).all()
                if not batch:
                    return out
                out.update(self._stale_in(session, batch, now))
            after = batch[-1].id

    def _stale_in(self, session: Session, batch: Sequence[Row[Any]], now: int) -> dict[str, tuple[str, str]]:
        """Of one batch of STARTED pulls (id, agreement id, private properties): those to end, and why."""
        from connector.services.usage import check_agreement_in_force

        ids = [t.id for t in batch]
        out = {transfer_id: ("the EDR expired and was not refreshed in time", "edr-expired")
               for transfer_id in session.exec(select(EdrGrant.transfer_id).where(
                   col(EdrGrant.transfer_id).in_(ids), EdrGrant.status == "active",
                   EdrGrant.refresh_expires_at <= now))}
        agreements = {a.id: a for a in session.exec(select(Agreement).where(
            col(Agreement.id).in_({t.agreement_id for t in batch})))}
        for transfer in batch:
            agreement = agreements.get(transfer.agreement_id)
            try:
                if agreement is None:
                    raise InvalidRequest("agreement.unknown", f"agreement {transfer.agreement_id} is gone")
                check_agreement_in_force(agreement, now, (transfer.private_properties or {}).get("consumerClaims"))
            except ServiceError as exc:
                out[transfer.id] = ("the agreement is no longer in force: " + "; ".join(exc.reasons),
                                    "agreement-not-in-force")
        return out

    def _cancel_orphaned_pushes(self, now: int) -> None:
        """Pending pushes of transfers that ended are cancelled; looked for before anything is written."""
        ended = select(col(TransferProcess.id)).where(col(TransferProcess.state).in_(("COMPLETED", "TERMINATED")))
        with self.db.read() as session:
            orphans = list(session.exec(select(DataFlow.transfer_id).where(
                DataFlow.status == "pending", col(DataFlow.transfer_id).in_(ended)).limit(SWEEP_BATCH)))
        while orphans:
            with self.db.write() as session:  # pending only: a push that began meanwhile is left to end itself
                session.execute(update(DataFlow).where(col(DataFlow.transfer_id).in_(orphans), col(DataFlow.status) == "pending")
                                .values(status="cancelled", updated_at=now))
            if len(orphans) < SWEEP_BATCH:
                return
            with self.db.read() as session:
                orphans = list(session.exec(select(DataFlow.transfer_id).where(
                    DataFlow.status == "pending", col(DataFlow.transfer_id).in_(ended)).limit(SWEEP_BATCH)))

    async def aclose(self) -> None:
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()
