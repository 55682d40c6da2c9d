"""JSON-LD for signing: an allowlisted context loader, a context policy, and "safe mode".

What a Data Integrity signature over RDF covers is the *dataset* a document expands
to, so everything that expansion silently drops is unsigned and editable by anyone
(research/trust.md §4). This module refuses such documents instead:

- **Contexts** come only from :class:`SigningContextLoader`: our ``schemas/contexts``
  (through :func:`connector.jsonld.get_loader`) plus three W3C contexts bundled with
  pyld (credentials v2 and v1, DID v1). Anything else is an unknown context. By
  default ``@context`` must be a list of those URLs and no nested ``@context`` may
  appear (Data Integrity's "validating contexts"); inline contexts are an opt-in.
- **Undefined terms**: the document is expanded with a sentinel ``@vocab`` placed
  *before* its own contexts, so a key that the contexts do not define expands to a
  sentinel IRI instead of vanishing; finding one names the term. A context that
  defines ``@vocab`` itself maps every key, so nothing is dropped there either.
  A context reset (``"@context": null``, e.g. credentials v2 on ``verifiableCredential``)
  or ``"@vocab": null`` would remove the sentinel, so the loader serves contexts with
  each reset followed by the sentinel again (inline contexts may not reset at all).
  For a document that passes, none of this changes its expansion: the sentinel only
  ever replaces what would have been dropped or left relative, which is refused.
- **Relative IRIs** (``@id``, ``@type``, datatypes, ``@id``-typed values), blank-node
  properties and ``@direction`` (which pyld drops) are refused by name.

The same single expansion then feeds :func:`to_quads`, a direct expanded-form →
RDF walk that also makes the checks (pyld's toRDF would expand again and build a node
map first). Processed contexts and expanded IRIs are memoised per loader (``_Processor``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import rfc8785
from pyld.context_resolver import ContextResolver
from pyld.documentloader.frozen import BUNDLED_CONTEXTS
from pyld.jsonld import JsonLdProcessor

from connector.jsonld import UnknownContextError, get_loader
from connector.jsonld.loader import once

from .canon import CanonicalizationError, Limits, Quad, canonicalize_quads
from .rdf import SENTINEL_VOCAB, canonical_double, to_quads

__all__ = ["SENTINEL_VOCAB", "canonical_double", "to_quads"]  # and what is defined here

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"
# pyld bundles more (security v1/v2, legacy suites, ActivityStreams); we verify none of those.
# Pinned by SHA-256 over their JCS form: a pyld upgrade that changed one would silently
# change what existing signatures mean, so the loader refuses to start instead.
W3C_CONTEXTS = {
    CREDENTIALS_V2: "b463c8d6a066214123ddd9827b135e1b50e1fc73322cc52a9b12a4f1fc7d86cf",
    CREDENTIALS_V1: "b01e671e873981f19a9102a9a57f666dbcaeb31b99e3e124378d143e71549247",
    DID_V1: "a7e146c40fcec005d3f0f14ae745665f446da58d7914a9d8f733746686fad82b",
}

_SENTINEL_CONTEXT = {"@vocab": SENTINEL_VOCAB}


class SigningContextLoader:
    """pyld ``documentLoader`` serving only allowlisted contexts; each instance has its own
    processed-context cache, so a loader with ``extra`` documents (tests, benchmarks) can
    never leak them into the product's loader, and vice versa."""

    def __init__(self, extra: Mapping[str, dict] | None = None) -> None:
        ours = get_loader()
        documents = {url: ours.document(url) for url in ours.iris}
        for url, pinned in W3C_CONTEXTS.items():
            if url in documents:  # one URL, two documents: what was signed would depend on the loader
                raise ValueError(f"context {url!r} is served twice")
            documents[url] = json.loads(BUNDLED_CONTEXTS[url].read_text(encoding="utf-8"))
            if hashlib.sha256(rfc8785.dumps(documents[url])).hexdigest() != pinned:
                raise ValueError(f"pyld's bundled {url} differs from the pinned version")
        for url, document in (extra or {}).items():
            if url in documents:
                raise ValueError(f"extra context {url!r} would shadow an allowlisted one")
            documents[url] = json.loads(json.dumps(document))
        self._documents = {url: _keep_sentinel(doc) for url, doc in documents.items()}
        self.iris: frozenset[str] = frozenset(self._documents)
        self.cache = _BoundedDict()
        self.memos: tuple[dict, dict] = ({}, {})  # see _Processor

    def document(self, url: str) -> dict:
        """A private copy (pyld may rewrite what it is given) of the context served for ``url``."""
        try:
            return json.loads(json.dumps(self._documents[url]))
        except (KeyError, TypeError):
            raise UnknownContextError(url) from None

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        # The tag opts in to pyld's resolved-context cache (ours is per loader, see above).
        return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
                "document": self.document(url), "tag": "static"}


def _context_key(local_ctx: Any) -> Any:
    """A memo key for a local context: by value for URLs (and our sentinel), else by identity."""
    if isinstance(local_ctx, str):
        return local_ctx
    if isinstance(local_ctx, list) and all(isinstance(c, str) or c == _SENTINEL_CONTEXT for c in local_ctx):
        return tuple(c if isinstance(c, str) else "<sentinel>" for c in local_ctx)
    return id(local_ctx)


def _keep_sentinel(value: Any) -> Any:
    """Put the sentinel back after every context reset, and in place of ``"@vocab": null``."""
    if isinstance(value, list):
        return [_keep_sentinel(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "@vocab" and item is None:
            out[key] = SENTINEL_VOCAB
        elif key == "@context" and (item is None or isinstance(item, list) and None in item):
            out[key] = [part for ctx in _as_list(item) for part in
                        ([None, dict(_SENTINEL_CONTEXT)] if ctx is None else [_keep_sentinel(ctx)])]
        else:
            out[key] = _keep_sentinel(item)
    return out


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


@once  # one loader, however many requests race to be first
def default_loader() -> SigningContextLoader:
    return SigningContextLoader()


class _BoundedDict(dict):
    """pyld's resolved-context cache: a dict (safe under concurrent requests, unlike an LRU
    that reorders on every read), emptied when inline contexts have filled it."""

    def __setitem__(self, key, value):
        if len(self) >= 512:
            self.clear()
        super().__setitem__(key, value)


# --- context policy -------------------------------------------------------------------

def check_contexts(document: Any, loader: SigningContextLoader, *, allow_inline: bool = False) -> None:
    """Refuse unknown context URLs, nested ``@context`` and (unless allowed) inline contexts."""
    if not isinstance(document, dict):
        raise CanonicalizationError("a signed document must be a JSON object", code="invalid_document")
    contexts = document.get("@context", [])
    for ctx in contexts if isinstance(contexts, list) else [contexts]:
        if isinstance(ctx, str):
            if ctx not in loader.iris:
                raise CanonicalizationError(f"unknown JSON-LD context {ctx!r}: not in the signing allowlist",
                                            code="unknown_context")
        elif isinstance(ctx, dict) and allow_inline:
            _check_inline(ctx)
        else:
            raise CanonicalizationError(
                f"@context entries must be allowlisted context URLs, not {type(ctx).__name__}"
                + ("" if allow_inline else " (inline contexts are not accepted)"), code="inline_context")
    stack = [v for k, v in document.items() if k != "@context"]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "@context" in item:
                if not allow_inline:
                    raise CanonicalizationError("nested @context is not accepted in a signed document",
                                                code="inline_context")
                _check_inline(item["@context"])
            stack.extend(v for k, v in item.items() if k != "@context")
        elif isinstance(item, list):
            stack.extend(item)


def _check_inline(ctx: Any) -> None:
    """An inline context may not undo the undefined-term guard or use @import (pyld caching bug)."""
    stack = [ctx]
    while stack:
        item = stack.pop()
        if item is None:
            raise CanonicalizationError("a null @context would disable the undefined-term check",
                                        code="inline_context")
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if "@import" in item:
                raise CanonicalizationError("@import in an inline context is not accepted",
                                            code="inline_context")
            if "@vocab" in item and item["@vocab"] is None:
                raise CanonicalizationError('"@vocab": null would disable the undefined-term check',
                                            code="inline_context")
            stack.extend(d["@context"] for d in item.values() if isinstance(d, dict) and "@context" in d)


# --- expansion --------------------------------------------------------------------------

class _Processor(JsonLdProcessor):
    """pyld's processor with two memos, shared by all expansions through one loader.

    - Context processing: pyld caches a processed context per (context, active context),
      but a type-scoped context that does not propagate (credentials v2 has many) is
      applied to a fresh clone each time, so it is re-processed on every document: half
      the time of signing a small credential. Memoised here by the active context's
      ``_uuid`` (pyld's own cache key; processed contexts are frozen), the local context
      (by identity, or by value for a list of URLs) and the flags.
    - ``_expand_iri``: a 2,000-triple document repeats a few dozen keys hundreds of times
      and pyld re-derives each IRI every time (a third of expansion). Memoised by the
      active context's ``_uuid``, outside context processing only (a context being built
      still changes).

    Both are plain dicts (atomic under the GIL), emptied when full rather than LRU. The
    context memo is kept small: inline contexts (when allowed) add an entry per document.
    """

    CONTEXT_MEMO_LIMIT, IRI_MEMO_LIMIT = 512, 50_000

    def __init__(self, memos: tuple[dict, dict]) -> None:
        super().__init__()
        self._contexts, self._iris = memos
        self._in_context = 0

    def _process_context(self, active_ctx, local_ctx, options, override_protected=False, propagate=True,
                         validate_scoped=True, cycles=None):
        uuid = active_ctx.get("_uuid")
        ctx_key = _context_key(local_ctx)
        key = (uuid, ctx_key, override_protected, propagate, validate_scoped) if uuid and not cycles else None
        hit = self._contexts.get(key) if key else None
        if hit is not None and (hit[0] is local_ctx or not isinstance(ctx_key, int)):
            return hit[1]
        self._in_context += 1
        try:
            result = super()._process_context(active_ctx, local_ctx, options, override_protected, propagate,
                                              validate_scoped, cycles)
        finally:
            self._in_context -= 1
        if key:
            if len(self._contexts) > self.CONTEXT_MEMO_LIMIT:
                self._contexts.clear()
            self._contexts[key] = (local_ctx, result)  # holding local_ctx keeps its id unique
        return result

    def _expand_iri(self, active_ctx, value, base=None, vocab=False, local_ctx=None, defined=None):
        uuid = active_ctx.get("_uuid")
        if local_ctx is not None or self._in_context or type(value) is not str or not uuid:
            return super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)
        key = (uuid, value, base, vocab)
        try:
            return self._iris[key]
        except KeyError:
            pass
        result = super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)
        if len(self._iris) > self.IRI_MEMO_LIMIT:
            self._iris.clear()
        self._iris[key] = result
        return result

    def expand_document(self, document: dict, options: dict) -> list:
        # pyld's expand() minus its deep copy (our caller passes a private JSON copy).
        active_ctx = self._get_initial_context(options)
        expanded = self._expand(active_ctx, None, document, options, inside_list=False)
        if isinstance(expanded, dict) and "@graph" in expanded and len(expanded) == 1:
            expanded = expanded["@graph"]
        return [] if expanded is None else JsonLdProcessor.arrayify(expanded)


def expand_safe(document: dict, loader: SigningContextLoader | None = None, *,
                allow_inline: bool = False) -> list:
    """The expanded form of ``document``, after the context policy and the safe-mode checks."""
    expanded = _expand(document, loader, allow_inline)
    to_quads(expanded)  # the checks live in the RDF walk; the quads themselves are not needed
    return expanded


def _expand(document: dict, loader: SigningContextLoader | None, allow_inline: bool) -> list:
    loader = loader or default_loader()
    check_contexts(document, loader, allow_inline=allow_inline)
    try:
        # A JSON round trip: a private copy, and NaN/Infinity or non-JSON types are refused.
        copy = json.loads(json.dumps(document, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise CanonicalizationError(f"document is not plain JSON: {exc}", code="invalid_document") from None
    contexts = copy.get("@context", [])
    copy["@context"] = [_SENTINEL_CONTEXT, *(contexts if isinstance(contexts, list) else [contexts])]
    # the defaults pyld's expand() would set, since its wrapper is bypassed
    options = {"base": None, "documentLoader": loader, "processingMode": "json-ld-1.1", "isFrame": False,
               "keepFreeFloatingNodes": False, "extractAllScripts": False,
               "contextResolver": ContextResolver(loader.cache, loader)}
    try:
        return _Processor(loader.memos).expand_document(copy, options)
    except Exception as exc:  # noqa: BLE001 - untrusted input: fail closed, with the cause as the reason
        raise _translate(exc) from exc


def _translate(exc: BaseException) -> CanonicalizationError:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for err in chain:
        if isinstance(err, UnknownContextError):
            return CanonicalizationError(f"unknown JSON-LD context {err.iri!r}", code="unknown_context")
    messages = [str(e.args[0]) if e.args else type(e).__name__ for e in chain]
    return CanonicalizationError("JSON-LD expansion failed: " + " -> ".join(dict.fromkeys(messages)),
                                 code="invalid_jsonld")


def document_quads(document: dict, loader: SigningContextLoader | None = None, *,
                   allow_inline: bool = False) -> list[Quad]:
    """The RDF quads of ``document`` in safe mode: one expansion, one checking walk."""
    return to_quads(_expand(document, loader, allow_inline))


def canonicalize_document(document: dict, loader: SigningContextLoader | None = None, *,
                          allow_inline: bool = False, limits: Limits | None = None) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document, in safe mode."""
    quads = document_quads(document, loader, allow_inline=allow_inline)
    return canonicalize_quads(quads, limits=limits) if limits else canonicalize_quads(quads)
