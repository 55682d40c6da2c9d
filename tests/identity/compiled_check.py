"""Cross-checking the compiled JSON-LD walk against the general path and pyld, document by document.

:func:`cross_check` runs one document three ways: the compiled walk
(:func:`connector.identity.signing_rdf.compiled_quads`), the general safe-mode path
(:func:`connector.identity.contexts.document_quads`: pyld's expansion, our walk) and, when
the compiled walk answers, pyld's own expansion + toRdf (``jsonld.to_rdf``); the canonical
N-Quads must be identical byte for byte, and a document the general path refuses must be
declined by the compiled walk. :class:`CrossCheckingQuads` puts that check in place of
``dataintegrity.document_quads`` for whole test modules (see the identity conftests), so
every document those tests sign or verify is compared too.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cachetools import LRUCache
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from connector.identity.canon import CanonicalizationError, Quad, canonicalize, canonicalize_quads
from connector.identity.contexts import SigningContextLoader, default_loader
from connector.identity.contexts import document_quads as general_quads
from connector.identity.signing_rdf import compiled_quads
from connector.jsonld.compiled import Decline

COMPILED, DECLINED, REFUSED = "compiled", "declined", "refused"
TOTALS: Counter[str] = Counter()  # over the whole test session, for the terminal summary


def pyld_canonical(document: dict[str, Any], loader: SigningContextLoader) -> str:
    """pyld's expansion and toRdf (no safe mode, no compiled tables), then RDFC-1.0."""
    def load(url: str, options: Any = None) -> dict[str, Any]:
        return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
                "document": loader.document(url)}

    dataset = jsonld.to_rdf(document, {"base": None, "documentLoader": load,
                                       "contextResolver": ContextResolver(LRUCache(64), load)})
    return canonicalize(dataset)


def cross_check(document: Any, loader: SigningContextLoader | None = None, *,
                allow_inline: bool = False) -> tuple[str, list[Quad] | CanonicalizationError]:
    """``(outcome, quads or the general path's error)``; AssertionError on any disagreement."""
    loader = loader or default_loader()
    try:
        general: list[Quad] | CanonicalizationError = general_quads(document, loader, allow_inline=allow_inline)
    except CanonicalizationError as exc:
        general = exc
    try:
        compiled = compiled_quads(document, loader, allow_inline=allow_inline)
    except Decline:
        outcome = REFUSED if isinstance(general, CanonicalizationError) else DECLINED
        TOTALS[outcome] += 1
        return outcome, general
    assert not isinstance(general, CanonicalizationError), (
        f"the compiled walk accepted a document safe mode refuses ({general.reason}): {document!r:.300}")
    ours = canonicalize_quads(compiled)
    assert ours == canonicalize_quads(general), f"compiled and general differ on {document!r:.300}"
    assert ours == pyld_canonical(document, loader), f"compiled and pyld's toRdf differ on {document!r:.300}"
    TOTALS[COMPILED] += 1
    return COMPILED, compiled


def summary() -> str:
    total = sum(TOTALS.values())
    return (f"compiled JSON-LD cross-check: {total} documents, {TOTALS[COMPILED]} through the compiled walk "
            f"(equal to the general path and pyld's toRdf), {TOTALS[DECLINED]} declined (general path), "
            f"{TOTALS[REFUSED]} refused by safe mode (and declined)")


class CrossCheckingQuads:
    """A stand-in for ``dataintegrity.document_quads`` that cross-checks each document it is given."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()

    def __call__(self, document: dict[str, Any], loader: SigningContextLoader | None = None, *,
                 allow_inline: bool = False) -> list[Quad]:
        outcome, result = cross_check(document, loader, allow_inline=allow_inline)
        self.outcomes[outcome] += 1
        if isinstance(result, CanonicalizationError):
            raise result
        return result


def install(monkeypatch: Any) -> CrossCheckingQuads:
    """Cross-check every document ``dataintegrity`` signs or verifies, for one test."""
    from connector.identity import dataintegrity

    checker = CrossCheckingQuads()
    monkeypatch.setattr(dataintegrity, "document_quads", checker)
    return checker

