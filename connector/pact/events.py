"""PACT action events (CloudEvents 1.0, structured JSON): what arrives at /2/events and /3/events,
and the answers we send to a requester's own events endpoint.

A RequestCreated event asks for footprints by the v3 filters (v2: a ProductFootprint fragment).
It is accepted at once (200); the answer, RequestFulfilled with the footprints the client may see
or RequestRejected saying why none, goes to the client's events endpoint (``events_url`` in its
``[[pact.clients]]`` entry, else the event's ``source``) with a token from that side's
``/auth/token`` (``events_client_id``/``events_client_secret``): PACT's own token flow, through
the SSRF-guarded session (an ``events_url`` configured without credentials is sent to without a
token: requesters such as the PACT conformance service take events that way). Sending is retried with exponential backoff while the connector runs
(PACT lets a responder retry up to 3 days; these answers are not kept across a restart).

Fulfilled, Rejected and Published events are accepted and logged: this connector publishes
footprints, it does not import them from PACT. When it publishes a footprint (a new one, or the
update that deprecates an old one), each client with a configured ``events_url`` that may see it
gets a PublishedEvent (v3) naming it.
"""

from __future__ import annotations

import asyncio
import base64
import difflib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from anyio import to_thread

from connector.config import PactClient, Settings
from connector.pact.access import LIST_FILTERS, BadFilter, Filters, FootprintView, parse_time
from connector.pcf.models import FootprintError, PcfFormat, from_internal
from connector.services.ssrf import Allowlist, SsrfRefused, acheck_backend_url, guarded_session

log = logging.getLogger("pontis.pact")

V3 = {"request": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
      "fulfilled": "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
      "rejected": "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
      "published": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3"}
V2 = {"request": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
      "fulfilled": "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1",
      "rejected": "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1",
      "published": "org.wbcsd.pathfinder.ProductFootprint.Published.v1"}
TYPES = {2: V2, 3: V3}
FORMAT = {2: PcfFormat.PACT2, 3: PcfFormat.PACT3}
# v2 asks with a footprint fragment; these of its fields are matched
V2_FRAGMENT = {"id": "id", "productIds": "productId", "companyIds": "companyId",
               "productClassifications": "classification", "status": "status"}


class BadEvent(ValueError):
    """An event refused with 400; the message names the field and what was expected."""


@dataclass(frozen=True)
class Accepted:
    kind: str  # request | fulfilled | rejected | published
    event: dict


def _closest(value: str, choices) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(choices)}"


def check_event(event: Any, version: int) -> Accepted:
    """Validate a CloudEvent for /{version}/events; BadEvent names what is wrong."""
    if not isinstance(event, dict):
        raise BadEvent("the body must be a CloudEvent JSON object")
    for name in ("specversion", "id", "source", "time", "type"):
        if not isinstance(event.get(name), str) or not event[name]:
            raise BadEvent(f"{name}: a non-empty string is required")
    if event["specversion"] != "1.0":
        raise BadEvent(f"specversion: expected '1.0', got {event['specversion']!r}")
    try:
        parse_time("time", event["time"])
    except BadFilter as exc:
        raise BadEvent(str(exc)) from None
    kinds = {t: k for k, t in TYPES[version].items()}
    if event["type"] not in kinds:
        raise BadEvent(f"type: {event['type']!r} is not a PACT v{version} event" + _closest(event["type"], kinds))
    data = event.get("data")
    if not isinstance(data, dict):
        raise BadEvent("data: an object is required")
    kind = kinds[event["type"]]
    if kind == "request":
        if version == 3:
            known = (*LIST_FILTERS, "comment", "pf")  # pf: the v2 fragment, still sent by v3 tools
            for name in data:
                if name not in known and not name.startswith("x-"):
                    raise BadEvent(f"data.{name}: not a request filter" + _closest(name, known))
        elif not isinstance(data.get("pf"), dict):
            raise BadEvent("data.pf: the ProductFootprint fragment asked for is required")
        try:
            request_filters(data, version)
        except BadFilter as exc:
            raise BadEvent(str(exc)) from None
    elif kind in ("fulfilled", "rejected"):
        if not isinstance(data.get("requestEventId"), str):
            raise BadEvent("data.requestEventId: a string is required")
        if kind == "fulfilled" and not isinstance(data.get("pfs"), list):
            raise BadEvent("data.pfs: an array of footprints is required")
        if kind == "rejected" and not isinstance(data.get("error"), dict):
            raise BadEvent("data.error: an object {code, message} is required")
    elif not isinstance(data.get("pfIds", []), list):
        raise BadEvent("data.pfIds: an array of footprint ids is required")
    return Accepted(kind, event)


def request_filters(data: dict, version: int) -> Filters | _Both:
    """The filters of a RequestCreated event: v3 names them; v2 (and v3 tools that still do) send a
    ProductFootprint fragment ``pf``. Both given: a footprint must match both."""
    fragment = data.get("pf")
    if fragment is not None and not isinstance(fragment, dict):
        raise BadFilter("data.pf: expected a ProductFootprint fragment (an object)")
    by_name = Filters.from_event(data) if version == 3 else Filters()
    if fragment is None:
        return by_name
    by_fragment = v2_filters(fragment)
    return _Both(by_name, by_fragment) if by_name != Filters() else by_fragment


class _Both:
    """Two sets of filters a footprint must both match."""

    def __init__(self, *parts: Filters) -> None:
        self.parts = parts

    def matches(self, doc8: dict) -> bool:
        return all(part.matches(doc8) for part in self.parts)


def v2_filters(fragment: dict) -> Filters:
    """A v2 request's footprint fragment as filters; a field we cannot match is refused by name."""
    params: list[tuple[str, str]] = []
    ids: list[str] = []
    for name, value in fragment.items():
        if name not in V2_FRAGMENT:
            raise BadFilter(f"data.pf.{name}: requests by this field are not supported; ask by "
                            + ", ".join(V2_FRAGMENT))
        for item in value if isinstance(value, list) else [value]:
            if name == "id":
                ids.append(str(item))
            else:
                params.append((V2_FRAGMENT[name], str(item)))
    filters = Filters.from_params(params)
    return filters if not ids else _WithIds(filters.values, filters.valid_on, filters.valid_after,
                                            filters.valid_before, filters.status, tuple(ids))


@dataclass(frozen=True)
class _WithIds(Filters):
    ids: tuple[str, ...] = ()

    def matches(self, doc8: dict) -> bool:
        return str(doc8.get("id")) in self.ids and super().matches(doc8)


def events_url(client: PactClient, source: str) -> str:
    """Where the answer goes: the configured endpoint, else the event's source (//host/path = https)."""
    if client.events_url:
        return client.events_url
    return "https:" + source if source.startswith("//") else source


def token_url(client: PactClient, target: str) -> str:
    if client.events_auth_url:
        return client.events_auth_url
    parts = urlsplit(target)
    return f"{parts.scheme}://{parts.netloc}/auth/token"


class PactEvents:
    def __init__(self, settings: Settings, view: FootprintView, clock: Callable[[], int], *,
                 attempts: int = 8, first_delay: float = 1.0) -> None:
        self.settings = settings
        self.view = view
        self.clock = clock
        self.attempts = attempts
        self.first_delay = first_delay
        configured = [u for c in (settings.pact.clients if settings.pact else ())
                      for u in (c.events_url, c.events_auth_url) if u]
        hosts = [urlsplit(u).hostname for u in configured]
        self.allowlist = Allowlist.parse([*settings.dataplane.allowlist, *[h for h in hosts if h]])
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task] = set()
        self.sent: list[dict] = []  # the answers delivered, for the admin's log and tests

    # --- receiving --------------------------------------------------------------------------------

    def accept(self, client: PactClient, accepted: Accepted, version: int) -> None:
        event = accepted.event
        if accepted.kind == "request":
            filters = request_filters(event["data"], version)
            self._spawn(self._answer(client, event, filters, version))
            log.info("PACT: request %s from %s (%s) accepted; answering to %s", event["id"], client.client_id,
                     client.bpn, events_url(client, event["source"]))
        else:
            log.info("PACT: %s event %s from %s (%s) received and acknowledged", accepted.kind, event["id"],
                     client.client_id, client.bpn)

    # --- answering --------------------------------------------------------------------------------

    def _answer_event(self, client: PactClient, request: dict, filters: Filters | _Both, version: int) -> dict:
        now = self.clock()
        footprints = []
        unwritable = []
        for footprint_id, document in self.view.matching(client.bpn, now, filters):
            try:
                footprints.append(from_internal(document, FORMAT[version]))
            except FootprintError as exc:
                unwritable.append(f"{footprint_id}: {exc}")
        if unwritable:
            log.warning("PACT: footprints that cannot be written as PACT v%d: %s", version, " | ".join(unwritable))
        if footprints:
            return self._event("fulfilled", {"requestEventId": request["id"], "pfs": footprints}, version, now)
        return self._event("rejected", {"requestEventId": request["id"], "error": {
            "code": "NotFound", "message": "no footprint you may see matches the request"}}, version, now)

    def _event(self, kind: str, data: dict, version: int, now: int) -> dict:
        host = urlsplit(self.settings.public_url).netloc
        stamp = datetime.fromtimestamp(now / 1000, UTC).replace(microsecond=0).isoformat()
        return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": f"//{host}/{version}/events",
                "time": stamp.replace("+00:00", "Z"), "type": TYPES[version][kind], "data": data}

    # --- telling clients of new footprints ------------------------------------------------------------

    def published_events(self, footprint_ids: list[str]) -> list[tuple[PactClient, dict]]:
        """For each client with an events endpoint, a PublishedEvent naming those of these new
        footprints it may see (a new footprint, or the update that deprecated one it had)."""
        now = self.clock()
        wanted = set(footprint_ids)
        out = []
        for client in self.settings.pact.clients if self.settings.pact else ():
            if not client.events_url:
                continue
            visible = [i for i in self.view.visible(client.bpn, now) if i in wanted]
            if visible:
                out.append((client, self._event("published", {"pfIds": visible}, 3, now)))
        return out

    def send(self, planned: list[tuple[PactClient, dict]]) -> None:
        for client, event in planned:
            what = "published " + ", ".join(event["data"]["pfIds"])
            self._spawn(self._deliver(client, event, client.events_url or "", what))

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = guarded_session(self.allowlist)
        return self._session

    async def _post(self, url: str, headers: dict, data: bytes) -> tuple[int, bytes]:
        await acheck_backend_url(url, self.allowlist)
        async with self.session().post(url, data=data, headers=headers, allow_redirects=False,
                                       timeout=aiohttp.ClientTimeout(total=30)) as response:
            return response.status, await response.read()

    async def _authorization(self, client: PactClient, target: str) -> dict:
        """PACT's token flow at the requester; none for an events_url the admin configured without
        credentials (requesters that take events without a token, such as the conformance service)."""
        if client.events_client_id and client.events_client_secret:
            return {"Authorization": f"Bearer {await self._token(client, target)}"}
        if client.events_url:
            return {}
        raise PermissionError(f"client {client.client_id} has no events_client_id/events_client_secret: "
                              "the credentials its own /auth/token gives us (or configure its events_url)")

    async def _token(self, client: PactClient, target: str) -> str:
        basic = base64.b64encode(f"{client.events_client_id}:{client.events_client_secret}".encode()).decode()
        status, body = await self._post(token_url(client, target), {
            "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
            b"grant_type=client_credentials")
        if status != 200:
            raise PermissionError(f"{token_url(client, target)} refused our credentials: {status} {body[:200]!r}")
        try:
            return str(json.loads(body)["access_token"])
        except (ValueError, KeyError, TypeError):
            raise PermissionError(f"{token_url(client, target)} answered without an access_token") from None

    async def _answer(self, client: PactClient, request: dict, filters: Filters | _Both, version: int) -> None:
        event = await to_thread.run_sync(self._answer_event, client, request, filters, version)
        await self._deliver(client, event, events_url(client, request["source"]), f"request {request['id']}")

    async def _deliver(self, client: PactClient, event: dict, target: str, what: str) -> None:
        """POST an event to a client's events endpoint, retried with exponential backoff."""
        body = json.dumps(event).encode()
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            try:
                headers = await self._authorization(client, target)
                status, answer = await self._post(target, {**headers, "Content-Type": "application/cloudevents+json"},
                                                  body)
                if 200 <= status < 300:
                    self.sent.append(event)
                    log.info("PACT: %s: told %s (%s)", what, client.client_id, event["type"].rsplit(".", 2)[-2])
                    return
                reason = f"{target} answered {status}: {answer[:200]!r}"
            except SsrfRefused as exc:
                log.warning("PACT: cannot send %s: %s is refused by the SSRF guard: %s", what, target, exc.reason)
                return
            except PermissionError as exc:
                reason = str(exc)
                if "has no events_client_id" in reason:
                    log.warning("PACT: cannot answer %s: %s", what, reason)
                    return
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                reason = f"{target} could not be reached: {type(exc).__name__}: {exc}"
            log.info("PACT: %s not delivered to %s (attempt %d of %d): %s", what, client.client_id, attempt,
                     self.attempts, reason)
            await asyncio.sleep(delay)
            delay *= 2
        log.warning("PACT: gave up delivering %s to %s", what, client.client_id)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        if self._session is not None:
            await self._session.close()
