"""The RDF a signature covers: the compiled walk first, the general algorithm when it declines.

:func:`document_quads` returns the same quads (up to blank node labels, so the same
canonical form) as :func:`connector.identity.contexts.document_quads` - safe mode included -
but for documents within what :mod:`connector.jsonld.compiled` covers (pinned context URLs
and, where admitted, inline context objects that pass the same policy; no nested contexts,
value objects, lists or graphs; see there) it skips pyld's expansion:
the term tables for each context set are built once per loader and kept. Any document the
compiled walk declines (or that fails) goes through the general path, which gives the same
answer or the same error as before. tests/identity/test_compiled_equality.py compares the
two, and pyld's own toRdf, on every document the tests have.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer

from connector.jsonld.compiled import CompiledContexts, Decline

from .canon import CanonicalizationError, Quad, escape_literal
from .contexts import (
    _SENTINEL_CONTEXT,
    SigningContextLoader,
    _check_inline,
    _Processor,
    default_loader,
)
from .contexts import document_quads as general_quads
from .rdf import _ABSOLUTE_IRI, SENTINEL_VOCAB, _Emitter

_compiled: weakref.WeakKeyDictionary[SigningContextLoader, CompiledContexts] = weakref.WeakKeyDictionary()
_compiled_lock = threading.Lock()
_literals = _Emitter()  # its literal() reads no state for the values the compiled walk passes


def _check_iri(iri: str) -> bool:
    """What the safe-mode walk accepts as an IRI: absolute, and not an undefined term."""
    return _ABSOLUTE_IRI.match(iri) is not None and not iri.startswith(SENTINEL_VOCAB)


def _options(loader: SigningContextLoader) -> dict[str, Any]:
    # the options contexts._expand gives pyld (a fresh resolver: its per-operation cache is a dict)
    return {"base": None, "documentLoader": loader, "processingMode": "json-ld-1.1", "isFrame": False,
            "keepFreeFloatingNodes": False, "extractAllScripts": False,
            "contextResolver": ContextResolver(loader.cache, loader)}


def compiled_contexts(loader: SigningContextLoader) -> CompiledContexts:
    """The term tables for ``loader`` (one set per loader, as its processed-context cache)."""
    tables = _compiled.get(loader)
    if tables is None:
        with _compiled_lock:
            tables = _compiled.get(loader)
            if tables is None:
                owner = weakref.ref(loader)  # the tables must not keep their loader (the key) alive

                def process(active_ctx: dict[str, Any], local_ctx: Any, **flags: bool) -> dict[str, Any]:
                    live = owner()
                    if live is None:
                        raise Decline("loader gone")
                    result: dict[str, Any] = _Processor(live.memos)._process_context(
                        active_ctx, local_ctx, _options(live), **flags)
                    return result

                initial = _Processor(loader.memos)._get_initial_context(_options(loader))
                tables = _compiled[loader] = CompiledContexts(
                    process, initial, _check_iri, _literals.literal, escape_literal, prefix=[_SENTINEL_CONTEXT])
    return tables


def compiled_quads(document: dict[str, Any], loader: SigningContextLoader | None = None, *,
                   allow_inline: bool = False) -> list[Quad]:
    """The quads of ``document`` by the compiled walk alone; :class:`Decline` if it does not cover it
    (or if the context policy refuses it: the general path then names the reason)."""
    loader = loader or default_loader()
    if not isinstance(document, dict):
        raise Decline("not a JSON object")
    contexts = document.get("@context", [])
    for context in contexts if isinstance(contexts, list) else [contexts]:
        if isinstance(context, dict) and allow_inline:
            try:
                _check_inline(context)
            except CanonicalizationError as exc:
                raise Decline(exc.reason) from None
        elif not isinstance(context, str) or context not in loader.iris:
            raise Decline("context not served")
    issuer = IdentifierIssuer("_:b")
    return compiled_contexts(loader).quads(document, issuer.get_id, inline=allow_inline)


def document_quads(document: dict[str, Any], loader: SigningContextLoader | None = None, *,
                   allow_inline: bool = False) -> list[Quad]:
    """The RDF quads of ``document`` in safe mode (see :func:`connector.identity.contexts.document_quads`)."""
    loader = loader or default_loader()
    try:
        return compiled_quads(document, loader, allow_inline=allow_inline)
    except Decline:  # the general path decides, with its errors (raised outside this handler, so
        pass         # they do not carry the Decline as their context)
    return general_quads(document, loader, allow_inline=allow_inline)
