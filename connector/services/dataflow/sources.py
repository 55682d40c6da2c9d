"""Where an asset's bytes come from: a published document, a stored file, or an HTTP backend.

``Sources.open`` turns a data address and the consumer's request into a ``Reply`` whose body is
bytes (small), a ``StoredFile`` (which the HTTP edge hands to the server to send without copying
it through Python) or an async iterator of chunks (everything else), so nothing large is ever held.
HttpData follows EDC's address keys; its backend calls go through the SSRF-guarded session, with
headers, an ``authKey``/``authCode`` pair, or OAuth2 client-credentials tokens cached per backend.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import anyio

from connector.config import DataPlaneSettings
from connector.services.edr_tokens import EdrError
from connector.services.ssrf import Allowlist, SsrfRefused, acheck_backend_url

log = logging.getLogger("pontis.dataflow")

DOCUMENT, FILE, HTTP_DATA = "PontisDocument", "PontisFile", "HttpData"
CHUNK = 1 << 20
# a backend body at least this large is spliced socket to socket where the server can (smaller
# ones are relayed as chunks and keep their pooled backend connection)
SPLICE_MIN = 1 << 20
# not forwarded from a backend's response: they describe one hop, or the backend itself
HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                         "proxy-authenticate", "proxy-authorization", "server", "date"})

OnFailure = Callable[[str], Awaitable[None]]
Session = Callable[[], aiohttp.ClientSession]
# what counts as a backend breaking off: its connection, its framing, or its silence
BACKEND_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


@dataclass
class DataRequest:
    """The consumer's request, as far as a source may see it. Header names are lower case."""

    method: str = "GET"
    path: str = ""
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: AsyncIterator[bytes] | None = None
    # who asks, from the verified EDR token's transfer: (participant id, BPN from its verified claims)
    caller: tuple[str, str | None] | None = None
    # the verified claims of the transfer's consumer (its BPN...), set by the data plane from the
    # transfer it authorized, never from the request
    consumer: Mapping[str, Any] | None = None

    async def read(self, limit: int, what: str) -> bytes:
        """The whole body, refused (413, naming ``what``) beyond ``limit`` bytes, for sources that
        take small JSON bodies (the registry's look-ups, a supplier's footprint)."""
        raw = bytearray()
        if self.body is not None:
            async for chunk in self.body:
                raw.extend(chunk)
                if len(raw) > limit:
                    raise EdrError(413, f"{what} is at most {limit} bytes", code="too_large")
        return bytes(raw)


@dataclass(frozen=True)
class StoredFile:
    """A file on the provider's disk as a body: the data plane edge has the server send it
    (``os.sendfile`` where it can); a push reads it in chunks."""

    path: Path
    stat: os.stat_result

    async def chunks(self) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self.path, "rb") as handle:
            while chunk := await handle.read(CHUNK):
                yield chunk


@dataclass(frozen=True)
class Handoff:
    """The rest of a backend's body, handed over as its socket: the bytes already read from it,
    the socket's file descriptor, and how many bytes are still to come on it."""

    buffered: bytes
    fd: int
    count: int


class BackendBody:
    """An HTTP backend's body: an async iterator of chunks as they arrive, or, before iterating,
    ``handoff`` of the backend's socket, so the server moves the rest socket to socket (os.splice)
    without it passing through Python. Either way a backend breaking off midway is reported
    (``on_failure``) and raised (``SourceFailed``), so the consumer's body breaks too."""

    def __init__(self, response: aiohttp.ClientResponse, on_failure: OnFailure | None) -> None:
        self.response = response
        self.on_failure = on_failure
        self.sent = 0
        self._chunks = self._relay()

    def __aiter__(self) -> BackendBody:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        await self._chunks.aclose()

    async def _broke(self, reason: str) -> None:
        if self.on_failure is not None:
            await self.on_failure(reason)

    async def _relay(self) -> AsyncGenerator[bytes, None]:
        """Each read takes all that is buffered (up to the session's read_bufsize), so a fast
        backend gives few large chunks and a slow one is not waited for."""
        content, clean = self.response.content, False
        try:
            while chunk := await content.readany():
                self.sent += len(chunk)
                yield chunk
            clean = True
        except BACKEND_ERRORS as exc:
            reason = f"the backend failed after {self.sent} bytes: {type(exc).__name__}: {exc or 'connection lost'}"
            await self._broke(reason)
            raise SourceFailed(reason) from exc
        finally:
            if clean:
                self.response.release()  # the connection goes back to the pool
            else:
                self.response.close()

    def handoff(self) -> Handoff | None:
        """The backend's socket for the rest of the body, or None (iterate instead): only a body
        with a Content-Length, on plain TCP, with at least ``SPLICE_MIN`` bytes still to come
        (smaller ones keep their pooled connection), and only before iterating."""
        response, connection = self.response, self.response.connection
        length = response.content_length
        if (self.sent or length is None or response.method == "HEAD" or response.status in (204, 304)
                or "chunked" in response.headers.get("transfer-encoding", "").lower()
                or connection is None or connection.transport is None or connection.protocol is None
                or connection.transport.get_extra_info("sslcontext") is not None
                or response.content.exception() is not None):
            return None
        sock = connection.transport.get_extra_info("socket")
        if sock is None or length - response.content.total_bytes < SPLICE_MIN:
            return None
        buffered = response.content.read_nowait()  # (this may resume reading: pause after it)
        connection.protocol.pause_reading()  # from now on only the splice reads the socket; no read timeout
        self.sent = len(buffered)
        return Handoff(buffered, sock.fileno(), length - response.content.total_bytes)

    async def handed_over(self, moved: int, backend_error: str | None) -> None:
        """After the splice: the connection is closed (its parser did not see the spliced bytes);
        a backend that broke off is reported and raised."""
        self.sent += moved
        self.response.close()
        if backend_error is not None:
            reason = f"the backend failed after {self.sent} bytes: {backend_error}"
            await self._broke(reason)
            raise SourceFailed(reason)


Body = bytes | StoredFile | BackendBody | AsyncIterator[bytes]


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: Body


class SourceFailed(Exception):
    """The source broke off midway; raised into the reply so that the reply aborts too."""


def _flag(address: Mapping[str, Any], name: str) -> bool:
    return str(address.get(name, "")).lower() == "true"


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/") if path and path.strip("/") else base


def _fully_unquoted(segment: str) -> str:
    for _ in range(5):  # %252e%252e is ".." to a backend that decodes twice
        decoded = unquote(segment)
        if decoded == segment:
            break
        segment = decoded
    return segment


def _consumer_path(path: str) -> str:
    """The consumer's path (``proxyPath``), refused if it could climb out of the baseUrl's path:
    a segment that is, or decodes (once or more) to, ``.`` or ``..``, or hides a slash."""
    for segment in path.split("/"):
        decoded = _fully_unquoted(segment)
        if decoded in (".", "..") or "/" in decoded or "\\" in decoded:
            raise EdrError(400, f"the path segment {segment!r} would leave the asset's base path; "
                                "'.', '..' and encoded slashes are not allowed in a proxied path",
                           code="path_refused")
    return path


class Sources:
    def __init__(self, session: Session, allowlist: Allowlist, settings: DataPlaneSettings,
                 clock: Callable[[], int], signer: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.session = session  # the event loop's guarded aiohttp session
        self.allowlist = allowlist
        self.settings = settings
        self.clock = clock
        self._tokens: dict[tuple, tuple[str, int]] = {}
        # signs a served JSON document (dict -> dict with a proof), when documents are to be signed
        self.signer = signer
        self._token_locks: dict[tuple, asyncio.Lock] = {}
        # more data-address types, served by a domain (footprints, the parts registry and submodels)
        self.handlers: dict[str, Callable[[Mapping[str, Any], DataRequest], Awaitable[Reply]]] = {}

    async def open(self, address: Mapping[str, Any], request: DataRequest, on_failure: OnFailure | None = None) -> Reply:
        """The reply to ``request`` from the source ``address`` names; ``on_failure`` hears of a
        body that broke off midway (before the reply is aborted)."""
        kind = address.get("type")
        if kind == DOCUMENT:
            return self._document(address, request)
        if kind == FILE:
            return await self._file(address, request)
        if kind == HTTP_DATA:
            return await self._http(address, request, on_failure)
        if kind in self.handlers:
            return await self.handlers[kind](address, request)
        known = ", ".join([DOCUMENT, FILE, HTTP_DATA, *self.handlers])
        raise EdrError(501, f"data address type {kind!r} is not served here; expected one of {known}",
                       code="unsupported_source")

    def _document(self, address: Mapping[str, Any], request: DataRequest) -> Reply:
        if request.method not in ("GET", "HEAD"):
            raise EdrError(405, f"a published document is read with GET, not {request.method}", code="method")
        if request.path.strip("/"):
            raise EdrError(404, f"this asset is one document; there is nothing at /{request.path}", code="not_found")
        doc = address.get("document")
        if isinstance(doc, dict) and doc.get("@type") == "@json" and "@value" in doc:
            doc = doc["@value"]  # a JSON literal, as the management API's JSON-LD keeps it
        if self.signer is not None and isinstance(doc, dict) and "proof" not in doc:
            doc = self.signer(doc)
        body = doc.encode() if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False).encode()
        ctype = address.get("contentType") or (
            "application/ld+json" if isinstance(doc, dict) and "@context" in doc else "application/json")
        return Reply(200, [("content-type", ctype), ("content-length", str(len(body)))],
                     b"" if request.method == "HEAD" else body)

    async def _file(self, address: Mapping[str, Any], request: DataRequest) -> Reply:
        if request.method not in ("GET", "HEAD"):
            raise EdrError(405, f"a stored file is read with GET, not {request.method}", code="method")
        if not self.settings.files_dir:
            raise EdrError(501, "PontisFile assets need [dataplane] files_dir in the provider's config",
                           code="unsupported_source")
        root = Path(self.settings.files_dir).resolve()
        path = (root / str(address.get("path", ""))).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise EdrError(404, f"the asset's file {address.get('path')!r} is not there", code="not_found")
        stat = path.stat()
        headers = [("content-type", address.get("contentType") or "application/octet-stream"),
                   ("content-length", str(stat.st_size))]
        return Reply(200, headers, b"" if request.method == "HEAD" else StoredFile(path, stat))

    async def _http(self, address: Mapping[str, Any], request: DataRequest, on_failure: OnFailure | None) -> Reply:
        base = address.get("baseUrl")
        if not isinstance(base, str) or not base:
            raise EdrError(502, "the asset's HttpData address has no baseUrl", code="backend_misconfigured")
        method = request.method if _flag(address, "proxyMethod") else str(address.get("method") or "GET").upper()
        url = _join(base, _consumer_path(request.path) if _flag(address, "proxyPath") else str(address.get("path") or ""))
        query = [str(address.get("queryParams") or ""), request.query if _flag(address, "proxyQueryParams") else ""]
        if any(query):
            url += ("&" if "?" in url else "?") + "&".join(q.lstrip("?") for q in query if q)
        try:
            await acheck_backend_url(url, self.allowlist)
        except SsrfRefused as exc:
            raise EdrError(502, f"the asset's backend is refused: {exc.reason}", code="backend_refused") from exc
        headers = await self._backend_headers(address)
        # we relay raw bytes, so the backend may only compress as the consumer can decompress
        headers["accept-encoding"] = request.headers.get("accept-encoding", "identity")
        if "accept" in request.headers:
            headers.setdefault("accept", request.headers["accept"])
        content = None
        if _flag(address, "proxyBody") and request.body is not None and method not in ("GET", "HEAD"):
            content = request.body
            for name in ("content-type", "content-length"):
                if name in request.headers:
                    headers[name] = request.headers[name]
        try:
            response = await self.session().request(method, url, headers=headers, data=content,
                                                    allow_redirects=False)
        except BACKEND_ERRORS as exc:
            raise EdrError(502, f"the backend did not answer: {type(exc).__name__}: {exc}",
                           code="backend_unreachable") from exc
        if response.status == 401 and address.get("oauth2:tokenUrl"):
            self._tokens.pop(self._token_key(address), None)  # the next request fetches a fresh one
        passed = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers
                  if k.decode("latin-1").lower() not in HOP_HEADERS]
        return Reply(response.status, passed, BackendBody(response, on_failure))

    async def _backend_headers(self, address: Mapping[str, Any]) -> dict[str, str]:
        headers = {k[len("header:"):]: str(v) for k, v in address.items() if k.startswith("header:")}
        if address.get("authKey") and address.get("authCode"):
            headers[str(address["authKey"])] = str(address["authCode"])
        if address.get("oauth2:tokenUrl"):
            headers["authorization"] = "Bearer " + await self._oauth2_token(address)
        return headers

    @staticmethod
    def _token_key(address: Mapping[str, Any]) -> tuple:
        return (address.get("oauth2:tokenUrl"), address.get("oauth2:clientId"), address.get("oauth2:scope"))

    async def _oauth2_token(self, address: Mapping[str, Any]) -> str:
        """A client-credentials token for the backend, cached until shortly before it expires."""
        key = self._token_key(address)
        cached = self._tokens.get(key)
        if cached and cached[1] > self.clock():
            return cached[0]
        async with self._token_locks.setdefault(key, asyncio.Lock()):  # one fetch per backend at a time
            cached = self._tokens.get(key)
            if cached and cached[1] > self.clock():
                return cached[0]
            url, client_id, scope = key
            secret = address.get("oauth2:clientSecret")
            if not client_id or not secret:
                raise EdrError(502, "the asset's OAuth2 settings need oauth2:clientId and oauth2:clientSecret",
                               code="backend_misconfigured")
            form = {"grant_type": "client_credentials", "client_id": str(client_id), "client_secret": str(secret)}
            if scope:
                form["scope"] = str(scope)
            try:
                await acheck_backend_url(str(url), self.allowlist)
                async with self.session().post(str(url), data=form, headers={"accept": "application/json"},
                                               allow_redirects=False) as answer:
                    status, body = answer.status, await answer.read()
            except SsrfRefused as exc:
                raise EdrError(502, f"the backend's token URL is refused: {exc.reason}", code="backend_refused") from exc
            except BACKEND_ERRORS as exc:
                raise EdrError(502, f"the backend's token endpoint did not answer: {exc}", code="backend_auth") from exc
            try:
                answer_json = json.loads(body)
                token, ttl = answer_json["access_token"], int(answer_json.get("expires_in") or 300)
            except (ValueError, KeyError, TypeError):
                raise EdrError(502, f"the backend's token endpoint answered HTTP {status} without "
                                    f"an access_token", code="backend_auth") from None
            # renew a little early, so a token never expires on its way to the backend
            self._tokens[key] = (token, self.clock() + max(ttl - 30, ttl // 2) * 1000)
            return token
