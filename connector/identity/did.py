"""DID documents: building ours (did:web), resolving peers' (did:web, did:key), finding their keys.

- **did:web** (w3c-ccg did-method-web): ``did:web:<host>[%3A<port>][:<seg>...]`` is the document
  at ``https://<host>[:<port>]/<seg>/.../did.json``, or ``/.well-known/did.json`` without
  segments. HTTPS only and no IP addresses, as the method requires. For local development
  (``did:web:localhost%3A8181``) plain ``http`` to ``localhost``/``127.0.0.1`` is used, but only
  when the resolver is built with ``allow_insecure_localhost`` (setting
  ``identity.allow_insecure_did_web``): a production connector never talks plain HTTP.
- **Resolution** (:class:`DidResolver`): did:key is computed; did:web is fetched with httpx
  (no redirects, a size cap, a timeout) and cached for a TTL; documents can also be injected
  (tests, offline verification of agreements). The document's ``id`` must be the DID asked for.
- **Our document** (:func:`build_did_document`): each key is published twice, as a ``Multikey``
  method (``<did>#key-1``, used by Data Integrity proofs) and as a ``JsonWebKey`` method
  (``<did>#key-1-jwk``, the ``kid`` of our JWTs, which is what JOSE-based peers such as EDC
  look up). The active key is in ``authentication``, ``assertionMethod`` and
  ``capabilityInvocation``; keys retired by rotation stay in ``assertionMethod`` only, so
  what they signed still verifies but they can no longer authenticate; revoked keys keep
  their method with ``revoked`` and are in no relationship. ``service`` carries the DSP
  entries of dsp.md "DID discovery" (``CatalogService`` and ``DataService``).
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .canon import DataIntegrityError
from .keys import KeySet, SigningKey
from .multikey import (
    DID_V1_CONTEXT,
    JWK_V1_CONTEXT,
    MULTIKEY_V1_CONTEXT,
    KeyFormatError,
    jwk_vm,
    public_key_from_vm,
    resolve_did_key,
)

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
ACTIVE_RELATIONSHIPS = ("authentication", "assertionMethod", "capabilityInvocation")
MAX_DOCUMENT_BYTES = 256 * 1024
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


class IdentityError(DataIntegrityError):
    """Base of the DID, credential and token errors: ``reason`` says what failed, ``code`` tags it."""

    code = "identity"


class CredentialError(IdentityError):
    """A credential, presentation or token that is refused; ``code`` says why (connector.identity.credentials)."""

    code = "invalid_credential"


class DidResolutionError(IdentityError):
    code = "did_resolution"


# --- did:web <-> URL -------------------------------------------------------------------------

def _parse_did_web(did: str) -> tuple[str, str | None, list[str]]:
    if not isinstance(did, str) or not did.startswith("did:web:"):
        raise DidResolutionError(f"not a did:web: {did!r}")
    if any(c in did for c in "#?/"):
        raise DidResolutionError(f"{did!r} is a DID URL, not a DID (no path, query or fragment allowed)")
    host_port, *segments = did[len("did:web:"):].split(":")
    host, _, port = unquote(host_port).partition(":")
    host = host.lower()
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise DidResolutionError(f"{did!r}: port {port!r} is not a port number")
    path = [unquote(s) for s in segments]
    if any(not s or s in (".", "..") or "/" in s for s in path):
        raise DidResolutionError(f"{did!r}: empty or relative path segment")
    return host, port or None, path


def did_web_url(did: str, *, allow_insecure_localhost: bool = False) -> str:
    """The URL of a did:web's document. Raises :class:`DidResolutionError` for a DID the
    method (or our localhost rule) does not allow."""
    host, port, path = _parse_did_web(did)
    scheme = "https"
    if host in LOCAL_HOSTS:
        if not allow_insecure_localhost:
            raise DidResolutionError(f"{did} names a local host; resolving it over plain http needs "
                                     "identity.allow_insecure_did_web = true (development only)")
        scheme = "http"
    else:
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            raise DidResolutionError(f"{did}: did:web does not allow IP addresses")
        if not _HOST.match(host):
            raise DidResolutionError(f"{did}: {host!r} is not a domain name")
    authority = f"{host}:{port}" if port else host
    tail = "/".join(quote(s, safe="") for s in path) + "/did.json" if path else ".well-known/did.json"
    return f"{scheme}://{authority}/{tail}"


def did_web_path(did: str) -> str:
    """The HTTP path a did:web's document is served at (for the serving side)."""
    _, _, path = _parse_did_web(did)
    return "/" + "/".join(quote(s, safe="") for s in path) + "/did.json" if path else "/.well-known/did.json"


def did_web_base_url(did: str, *, allow_insecure_localhost: bool = True) -> str:
    """The folder holding a did:web's ``did.json`` (``http(s)://host[:port][/seg...]``)."""
    url = did_web_url(did, allow_insecure_localhost=allow_insecure_localhost)
    return url.rsplit("/.well-known/did.json", 1)[0] if url.endswith("/.well-known/did.json") else url[:-9]


def did_web_for_url(url: str) -> str:
    """The did:web for a base URL: ``http://localhost:8181/issuer`` → ``did:web:localhost%3A8181:issuer``."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise DidResolutionError(f"{url!r} has no host")
    did = "did:web:" + parts.hostname.lower() + (f"%3A{parts.port}" if parts.port else "")
    segments = [s for s in parts.path.split("/") if s]
    return ":".join([did, *(quote(unquote(s), safe="") for s in segments)])


def check_fetch_url(url: str, *, allow_insecure_localhost: bool) -> None:
    """Only https, or http to this machine when explicitly allowed (status lists follow this too)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and allow_insecure_localhost:
        return
    raise DidResolutionError(f"refusing to fetch {url}: only https is allowed"
                             + ("" if parts.hostname not in LOCAL_HOSTS else
                                " (http to localhost needs identity.allow_insecure_did_web = true)"))


# --- our DID document ------------------------------------------------------------------------

def jwk_vm_id(vm_id: str) -> str:
    """The id of the ``JsonWebKey`` twin of a ``Multikey`` method: the ``kid`` of our JWTs."""
    return vm_id + "-jwk"


def dsp_services(did: str, public_url: str, dsp_url: str) -> list[dict[str, Any]]:
    """DSP "DID discovery" entries (dsp common/did-service-schema.json)."""
    return [
        {"id": f"{did}#dsp-catalog", "type": "CatalogService", "serviceEndpoint": dsp_url.rstrip("/") + "/catalog"},
        {"id": f"{did}#dsp", "type": "DataService",
         "serviceEndpoint": public_url.rstrip("/") + "/.well-known/dspace-version"},
    ]


JWS_2020_CONTEXT = "https://w3id.org/security/suites/jws-2020/v1"


def build_did_document(did: str, keys: KeySet | SigningKey, *, services: Iterable[dict] = (),
                       extra_methods: Iterable[dict] = ()) -> dict[str, Any]:
    """The DID document publishing ``keys`` (see the module docstring for the layout).
    ``extra_methods`` (e.g. the Gaia-X ``JsonWebKey2020`` with ``x5u``, connector.gaiax.keys) are
    published too and listed under ``assertionMethod``: they sign credentials, never authenticate."""
    keyset = keys if isinstance(keys, KeySet) else KeySet(keys)
    methods: list[dict[str, Any]] = []
    relations: dict[str, list[str]] = {r: [] for r in ACTIVE_RELATIONSHIPS}
    for vm in keyset.verification_methods():
        if vm.get("controller") != did:
            raise IdentityError(f"key {vm.get('id')} belongs to {vm.get('controller')}, not {did}")
        twin = jwk_vm(jwk_vm_id(vm["id"]), did, public_key_from_vm(vm))
        if "revoked" in vm:
            twin["revoked"] = vm["revoked"]
        methods += [vm, twin]
        if "revoked" in vm:
            continue
        active = vm["id"] == keyset.active.id
        for relation in ACTIVE_RELATIONSHIPS if active else ("assertionMethod",):
            relations[relation] += [vm["id"], twin["id"]]
    extra = list(extra_methods)
    for vm in extra:
        if vm.get("controller") != did or not str(vm.get("id", "")).startswith(did + "#"):
            raise IdentityError(f"method {vm.get('id')} belongs to {vm.get('controller')}, not {did}")
        methods.append(vm)
        relations["assertionMethod"].append(vm["id"])
    contexts = [DID_V1_CONTEXT, MULTIKEY_V1_CONTEXT, JWK_V1_CONTEXT] + ([JWS_2020_CONTEXT] if extra else [])
    document: dict[str, Any] = {"@context": contexts, "id": did, "verificationMethod": methods, **relations}
    services = list(services)
    if services:
        document["service"] = services
    return document


# --- finding a key in a document ---------------------------------------------------------------

def _listify(value: Any) -> list:
    return value if isinstance(value, list) else ([] if value is None else [value])


def find_verification_method(document: dict, vm_url: str, relationship: str | None = None) -> dict[str, Any]:
    """The method ``vm_url`` of ``document``; with ``relationship``, it must be listed there.
    Ids may be relative (``#key-1``). The method must be controlled by the document's subject."""
    did = document.get("id")

    def absolute(ref: Any) -> Any:
        return (did or "") + ref if isinstance(ref, str) and ref.startswith("#") else ref

    methods = {absolute(vm.get("id")): vm for vm in _listify(document.get("verificationMethod"))
               if isinstance(vm, dict)}
    if relationship is not None:
        related = _listify(document.get(relationship))
        refs = [absolute(r.get("id") if isinstance(r, dict) else r) for r in related]
        if vm_url not in refs:
            raise DidResolutionError(f"{vm_url} is not listed under {relationship!r} in {did}'s DID document")
        methods.update({absolute(r.get("id")): r for r in related if isinstance(r, dict)})
    vm = methods.get(vm_url)
    if vm is None:
        raise DidResolutionError(f"{did}'s DID document has no verification method {vm_url}")
    if vm.get("controller") not in (did, None):
        raise DidResolutionError(f"{vm_url} is controlled by {vm.get('controller')}, not by {did}")
    if "revoked" in vm:
        raise DidResolutionError(f"{vm_url} was revoked at {vm['revoked']}")
    return {**vm, "id": vm_url}


def sole_method(document: dict, relationship: str) -> str:
    """DCP: without a ``kid``, the document's single method, if it is listed under ``relationship``."""
    methods = _listify(document.get("verificationMethod"))
    if len(methods) != 1 or not isinstance(methods[0], dict):
        raise DidResolutionError(f"{document.get('id')} has {len(methods)} verification methods; "
                                 "the token must name one in its kid")
    vm_id = methods[0].get("id", "")
    return document["id"] + vm_id if vm_id.startswith("#") else vm_id


# --- resolution ----------------------------------------------------------------------------

Fetch = Callable[[str], bytes]


class DidResolver:
    """Resolve DIDs to documents, with a TTL cache; thread-safe (DSP requests share one).

    ``documents`` are pinned (never fetched, never expire): tests and offline checks use
    them. ``fetch(url) -> bytes`` does the HTTP GET: the connector passes its guarded
    ``connector.services.transport.DocumentFetch`` (the one door out); without one, nothing is
    fetched. ``clock`` returns seconds.
    """

    def __init__(self, *, allow_insecure_localhost: bool = False, ttl_seconds: float = 300.0,
                 documents: Iterable[dict] = (), fetch: Fetch | None = None, offline: bool = False,
                 timeout: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.allow_insecure_localhost = allow_insecure_localhost
        self.ttl_seconds = ttl_seconds
        self.offline = offline
        self.clock = clock
        self._fetch = fetch
        self._timeout = timeout
        self._pinned: dict[str, dict] = {}
        self._cache: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()
        for document in documents:
            self.pin(document)

    def pin(self, document: dict) -> None:
        if not isinstance(document, dict) or not isinstance(document.get("id"), str):
            raise DidResolutionError("a DID document must be a JSON object with a string 'id'")
        self._pinned[document["id"]] = document

    def invalidate(self, did: str | None = None) -> None:
        with self._lock:
            if did is None:
                self._cache.clear()
            else:
                self._cache.pop(did, None)

    def fetch(self, url: str) -> bytes:
        """GET ``url`` under the same rules as did:web (used for status lists, too)."""
        if self.offline:
            raise DidResolutionError(f"offline: not fetching {url}")
        check_fetch_url(url, allow_insecure_localhost=self.allow_insecure_localhost)
        if self._fetch is None:
            raise DidResolutionError(f"no HTTP client was given to this resolver: not fetching {url}")
        return self._fetch(url)

    def resolve(self, did: str) -> dict[str, Any]:
        """The DID document of ``did`` (a DID, or a DID URL whose fragment is ignored)."""
        did = did.split("#", 1)[0]
        if did in self._pinned:
            return self._pinned[did]
        if did.startswith("did:key:"):
            try:
                return resolve_did_key(did)
            except KeyFormatError as exc:
                raise DidResolutionError(f"{did}: {exc}") from None
        if not did.startswith("did:web:"):
            raise DidResolutionError(f"cannot resolve {did!r}: only did:web and did:key are supported")
        now = self.clock()
        with self._lock:
            hit = self._cache.get(did)
        if hit is not None and hit[0] > now:
            return hit[1]
        url = did_web_url(did, allow_insecure_localhost=self.allow_insecure_localhost)
        if self.offline:
            raise DidResolutionError(f"no DID document for {did} was supplied (offline: not fetching {url})")
        try:
            document = json.loads(self.fetch(url))
        except ValueError as exc:
            raise DidResolutionError(f"{url} is not JSON: {exc}") from None
        if not isinstance(document, dict) or document.get("id") != did:
            got = document.get("id") if isinstance(document, dict) else type(document).__name__
            raise DidResolutionError(f"{url} holds the DID document of {got!r}, not of {did}")
        with self._lock:
            if len(self._cache) > 4096:  # bound memory: peers are few, so this only sheds junk
                self._cache.clear()
            self._cache[did] = (now + self.ttl_seconds, document)
        return document

    def verification_method(self, vm_url: str, relationship: str | None = None) -> dict[str, Any]:
        if not isinstance(vm_url, str) or "#" not in vm_url:
            raise DidResolutionError(f"{vm_url!r} is not a DID URL with a fragment")
        return find_verification_method(self.resolve(vm_url), vm_url, relationship)

    def public_key(self, vm_url: str, relationship: str | None = None) -> Ed25519PublicKey:
        vm = self.verification_method(vm_url, relationship)
        try:
            return public_key_from_vm(vm)
        except KeyFormatError as exc:
            raise DidResolutionError(f"{vm_url}: {exc}") from None

    def resolve_key(self, vm_url: str) -> dict[str, Any]:
        """A ``resolve_key`` for :func:`connector.identity.dataintegrity.verify`: the controller
        document, so that ``verify`` checks the method is listed under the proof's purpose."""
        return self.resolve(vm_url)

    __call__ = resolve_key
