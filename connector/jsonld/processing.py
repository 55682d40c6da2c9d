"""Expand and compact with pyld, safely and fast enough for the request path.

Every call passes ``base: None`` (otherwise pyld resolves ``@vocab``-typed
values such as ``format: "HttpData-PULL"`` or an undefined ``leftOperand``
against ``http://example.org/base/``) and our local document loader.

Speed: pyld caches resolved contexts (and, per resolved context, the processed
active contexts) only for remote documents that carry a ``tag``.  Our loader
stays untagged so that it is harmless when handed to plain pyld, whose cache is
process-global and keyed by URL alone.  Here we wrap it with a tagging loader
and give pyld a *private* cache per loader through the ``contextResolver``
option, so a peer's loader can never feed contexts into ours or vice versa.
On top, :class:`_Resolver` skips re-hashing our own scoped contexts.

One hazard remains: pyld 3.3.0 handles ``@import`` by merging the importing
context into the *cached* imported one.  Our loader inlines the imports of our
own contexts; a peer document whose inline context uses ``@import`` would
poison the shared cache for later requests, so such a document is processed
with a throw-away cache instead (slower, but correct and contained).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from cachetools import LRUCache
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from .errors import JsonLdError, UnknownContextError
from .loader import get_loader

Loader = Callable[..., dict]

# Holds URL contexts plus the inline contexts seen in documents (keyed by their
# canonical JSON), so it must be bounded: inline contexts come from peers.
RESOLVED_CACHE_SIZE = 512
_DETAIL_LIMIT = 300


class _LockedLRU(LRUCache):
    """LRUCache safe for concurrent requests (pyld's resolver reads and writes it)."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self._lock = threading.RLock()

    def __getitem__(self, key):
        with self._lock:
            return super().__getitem__(key)

    def __setitem__(self, key, value):
        with self._lock:
            super().__setitem__(key, value)

    def __delitem__(self, key):
        with self._lock:
            super().__delitem__(key)

    def get(self, key, default=None):
        with self._lock:
            return super().get(key, default)


class _Resolver(ContextResolver):
    """pyld's resolver, minus re-canonicalising our own scoped contexts on every call.

    pyld keys an inline context by its canonical JSON, recomputed whenever a
    type-scoped context applies (a quarter of the time of a DSP message).  The
    scoped contexts inside our served documents are the very same objects on
    every call, so for those the lookup is memoised by identity; the memo holds
    each object, so its id cannot be reused by another while the entry lives.
    """

    def __init__(self, shared_cache: Any, loader: Loader, own: _LockedLRU) -> None:
        super().__init__(shared_cache, loader)
        self._own = own

    def resolve(self, active_ctx, context, base, cycles=None):
        entry = self._own.get(id(context))
        if entry is None or entry[0] is not context:
            return _locked(super().resolve(active_ctx, context, base, cycles))
        if entry[1] is None:
            entry[1] = _locked(super().resolve(active_ctx, context, base, cycles))
        return list(entry[1])


_swap_lock = threading.Lock()


def _locked(resolved: list) -> list:
    """Each resolved context's own cache of processed contexts made safe for threads.

    pyld gives every ResolvedContext a plain LRUCache, and the shared cache hands the same
    ResolvedContext to concurrent requests: two evictions at once raise KeyError inside pyld.
    Swapped before the resolver returns it, so no caller has used the plain cache yet."""
    for item in resolved:
        cache = getattr(item, "cache", None)
        if cache is not None and not isinstance(cache, _LockedLRU):
            with _swap_lock:
                if not isinstance(item.cache, _LockedLRU):
                    locked = _LockedLRU(item.cache.maxsize)
                    for key, value in list(item.cache.items()):
                        locked[key] = value
                    item.cache = locked
    return resolved


def _scoped_contexts(value: Any):
    """Every object that is the value of an ``@context`` entry, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if key == "@context" and isinstance(child, dict):
                    yield child
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)


class _Pipeline:
    """A loader's private resolved-context caches. The loader itself is bound per call
    (``options``), so whoever runs an operation holds it strongly until the end: the
    pipelines are keyed weakly by their loader, and a pipeline never outlives it mid-call."""

    def __init__(self) -> None:
        self.cache = _LockedLRU(RESOLVED_CACHE_SIZE)
        self.own = _LockedLRU(RESOLVED_CACHE_SIZE)  # id -> [scoped context, resolved]

    def options(self, loader: Loader, *, isolated: bool = False, **extra: Any) -> dict[str, Any]:
        def plain(url: str, options: dict | None = None) -> dict:
            return dict(loader(url, options))

        def tagged(url: str, options: dict | None = None) -> dict:
            remote = plain(url, options)
            remote["tag"] = "static"  # opt in to pyld's resolved-context cache
            for scoped in _scoped_contexts(remote["document"]["@context"]):
                self.own[id(scoped)] = [scoped, None]
            return remote

        # A fresh resolver per call: its per-operation cache is an unbounded
        # dict; only the shared caches behind it are ours to keep.
        if isolated:
            resolver = ContextResolver(LRUCache(maxsize=RESOLVED_CACHE_SIZE), plain)
            return {"base": None, "documentLoader": plain, "contextResolver": resolver, **extra}
        resolver = _Resolver(self.cache, tagged, self.own)
        return {"base": None, "documentLoader": tagged, "contextResolver": resolver, **extra}


_pipelines: weakref.WeakKeyDictionary[Any, _Pipeline] = weakref.WeakKeyDictionary()
_pipelines_lock = threading.Lock()


def _pipeline(loader: Loader) -> _Pipeline:
    with _pipelines_lock:
        pipeline = _pipelines.get(loader)
        if pipeline is None:
            pipeline = _pipelines[loader] = _Pipeline()
        return pipeline


def _options(loader: Loader | None, **options: Any) -> dict[str, Any]:
    """pyld options for one operation; they hold ``loader`` (default: ours) until it ends."""
    loader = loader if loader is not None else get_loader()
    return _pipeline(loader).options(loader, **options)


def clear_cache() -> None:
    """Forget all processed contexts (e.g. after the context files changed)."""
    with _pipelines_lock:
        _pipelines.clear()


def expand(doc: dict | list, *, loader: Loader | None = None) -> list:
    """Expand a JSON-LD document (object or array) to its expanded-form list."""
    _check_document(doc)
    try:
        return jsonld.expand(doc, _options(loader, isolated=_uses_import(doc)))
    except Exception as exc:  # noqa: BLE001 - translated, never swallowed
        raise _translate(exc, "expansion") from exc


def compact(
    doc_or_expanded: dict | list,
    context: str | dict | list,
    *,
    expanded: bool = False,
    loader: Loader | None = None,
) -> dict:
    """Compact a document (or, with ``expanded=True``, an expanded form) against ``context``.

    If ``context`` is a list, the output ``@context`` is always a list too:
    pyld collapses a one-element context array to a bare value, but DSP
    requires ``@context`` to be an array.
    """
    _check_document(doc_or_expanded)
    try:
        options = _options(loader, isolated=_uses_import(doc_or_expanded) or _uses_import(context),
                           skipExpansion=expanded)
        result = jsonld.compact(doc_or_expanded, context, options)
    except Exception as exc:  # noqa: BLE001 - translated, never swallowed
        raise _translate(exc, "compaction") from exc
    given = context.get("@context", context) if isinstance(context, dict) else context
    if isinstance(given, list) and "@context" in result and not isinstance(result["@context"], list):
        result = {"@context": [result["@context"]], **{k: v for k, v in result.items() if k != "@context"}}
    return result


def _check_document(doc: Any) -> None:
    # pyld would treat a string as a URL to dereference; we never load documents.
    if not isinstance(doc, (dict, list)):
        raise JsonLdError(f"a JSON-LD document must be an object or an array, not {type(doc).__name__}")


def _uses_import(value: Any) -> bool:
    """Whether ``@import`` appears anywhere (it is only meaningful inside contexts)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "@import" in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _translate(exc: Exception, action: str) -> JsonLdError:
    """Turn a pyld failure into our error, naming the actual problem.

    pyld wraps the loader's exception (and its own inner errors) in generic
    ones such as "Could not expand input before compaction" or "Dereferencing
    a URL did not result in a valid JSON-LD object"; the useful part is deeper
    in the cause chain.
    """
    chain = _chain(exc)
    for err in chain:
        if isinstance(err, UnknownContextError):
            return UnknownContextError(err.iri)
    for err in chain:
        if isinstance(err, JsonLdError):  # e.g. a broken context file behind the loader
            return JsonLdError(str(err))
    pyld_errors = [e for e in chain if isinstance(e, jsonld.JsonLdError)]
    if not pyld_errors:
        return JsonLdError(f"JSON-LD {action} failed: {type(exc).__name__}: {exc}")
    messages = [str(e.args[0]) if e.args else e.type for e in pyld_errors]
    inner = pyld_errors[-1]
    message = f"JSON-LD {action} failed: " + " -> ".join(dict.fromkeys(messages))
    if inner.code:
        message += f" (code: {inner.code})"
    if inner.details:
        details = repr(inner.details)
        if len(details) > _DETAIL_LIMIT:
            details = details[:_DETAIL_LIMIT] + "..."
        message += f" details: {details}"
    return JsonLdError(message)
