"""Term tables: one active context (pyld's, frozen) with the meaning of each key worked out once.

The building block of :mod:`connector.jsonld.compiled` (which says what is covered): a
:class:`TermTable` compiles a key on first use, from pyld's own IRI expansion and term
definitions, into a :class:`Term` (keyword alias, or predicate + how its values become RDF),
and keeps the context transitions (scoped contexts, the reverted context) it leads to.
Anything outside what the compiled walk covers raises :class:`Decline`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pyld.jsonld import KEYWORD_PATTERN, _is_absolute_iri, _is_keyword

if TYPE_CHECKING:
    from .compiled import CompiledContexts

TERM_LIMIT = 4_096  # per table: keys come from documents, so the memos stay bounded
_KEYWORD_LIKE = re.compile(KEYWORD_PATTERN)
DROP = object()  # a key pyld drops (null mapping, not an absolute IRI)
_XSD = "http://www.w3.org/2001/XMLSchema#"
_XSD_STRING, _XSD_DOUBLE = _XSD + "string", _XSD + "double"


class Decline(Exception):
    """The compiled walk does not cover this document: use the general algorithm."""


class Coercion:
    """How a term's scalar values become RDF terms (pyld's ``_expand_value`` + toRdf)."""

    __slots__ = ("kind", "datatype", "string_suffix")

    def __init__(self, kind: str, datatype: str | None = None) -> None:
        self.kind = kind  # "plain", "@id", "@vocab" or "typed"
        self.datatype = datatype
        # what follows the escaped lexical form of a string value (None: not a plain case)
        self.string_suffix: str | None = None
        if kind == "plain" or datatype == _XSD_STRING:
            self.string_suffix = '"'
        elif kind == "typed" and datatype != _XSD_DOUBLE:
            self.string_suffix = '"^^<' + str(datatype) + ">"


class Term:
    """One key compiled in one active context."""

    __slots__ = ("keyword", "predicate", "coercion", "value_table", "node_scoped", "graph_container")

    def __init__(self, keyword: str | None, predicate: str | None, coercion: Coercion | None,
                 value_table: TermTable | None, node_scoped: Any, graph_container: bool = False) -> None:
        self.keyword = keyword            # "@id" / "@type" for aliases, else None
        self.predicate = predicate        # "<iri>" for a property
        self.coercion = coercion
        self.value_table = value_table    # the context values are expanded in (pyld's term_ctx)
        self.node_scoped = node_scoped    # property-scoped context for node values, or None
        self.graph_container = graph_container  # "@container": "@graph" (or ["@graph", "@set"])


class TermTable:
    """An active context (pyld's, frozen) with its compiled terms and context transitions."""

    def __init__(self, tables: CompiledContexts, ctx: dict[str, Any]) -> None:
        self.tables = tables
        self.ctx = ctx
        self.mappings: dict[str, Any] = ctx["mappings"]
        self.vocab: str | None = ctx.get("@vocab")
        self.has_previous = bool(ctx.get("previousContext"))
        self.terms: dict[str, Term | object] = {}
        self.type_keys: dict[str, bool] = {}
        self.transitions: dict[Any, TermTable] = {}

    # --- IRI expansion: pyld's _expand_iri with base None, outside context processing ---

    def expand_iri(self, value: str, vocab: bool) -> str | None:
        if _is_keyword(value):
            return value
        if _KEYWORD_LIKE.match(value):
            return None
        mappings = self.mappings
        if vocab and value in mappings:
            mapping = mappings[value]
            return None if mapping is None else mapping["@id"]
        colon = value.find(":")
        if colon > 0:
            prefix, suffix = value[:colon], value[colon + 1:]
            if prefix == "_" or suffix.startswith("//"):
                return value
            mapping = mappings.get(prefix)
            if mapping and mapping["_prefix"]:
                return mapping["@id"] + suffix
            if _is_absolute_iri(value):
                return value
        if vocab and self.vocab is not None:
            return self.vocab + value
        return value

    # --- transitions ------------------------------------------------------------------------

    def apply(self, local: Any, propagate: bool = True, override_protected: bool = False) -> TermTable:
        """The table after pyld processes ``local`` (a context from a term definition) here."""
        key = (id(local), propagate, override_protected)
        table = self.transitions.get(key)
        if table is None:
            ctx = self.tables.process(self.ctx, local, propagate=propagate, override_protected=override_protected)
            table = self.transitions[key] = self.tables.table(ctx, hold=local)
        return table

    def is_type_key(self, key: str) -> bool:
        """Whether ``key`` expands to ``@type`` here (before any type-scoped context applies)."""
        found = self.type_keys.get(key)
        if found is None:
            if len(self.type_keys) >= TERM_LIMIT:
                self.type_keys.clear()
            found = self.type_keys[key] = self.expand_iri(key, vocab=True) == "@type"
        return found

    def reverted(self) -> TermTable:
        previous = self.ctx.get("previousContext")
        return self if previous is None else self.tables.table(previous)

    def term(self, key: str) -> Term | object:
        term = self.terms.get(key)
        if term is None:
            if len(self.terms) >= TERM_LIMIT:  # keys come from documents: keep the memo bounded
                self.terms.clear()
            term = self.terms[key] = self._compile(key)
        return term

    def _compile(self, key: str) -> Term | object:
        iri = self.expand_iri(key, vocab=True)
        if iri is None or not (_is_absolute_iri(iri) or _is_keyword(iri)):
            return DROP
        if _is_keyword(iri):
            if iri in ("@id", "@type", "@context"):
                return Term(iri, None, None, None, None)
            raise Decline(f"keyword {iri}")
        mapping = self.mappings.get(key) or {}
        if mapping.get("reverse"):
            raise Decline("reverse property")
        container = set(as_list(mapping.get("@container", []))) - {"@set"}
        if container not in (set(), {"@graph"}):
            raise Decline("container")
        if mapping.get("@type") == "@json":
            raise Decline("@json")
        if iri.startswith("_:") or not self.tables.check_iri(iri):
            raise Decline("property IRI")
        value_table = self.apply(mapping["@context"], propagate=True, override_protected=True) \
            if mapping.get("@context") is not None else self
        value_mapping = value_table.mappings.get(key) or {}
        if value_table.expand_iri(key, vocab=True) != iri or value_mapping.get("reverse") \
                or set(as_list(value_mapping.get("@container", []))) - {"@set"} not in (set(), {"@graph"}):
            raise Decline("scoped context redefines its own term")
        language = value_mapping.get("@language", value_table.ctx.get("@language"))
        direction = value_mapping.get("@direction", value_table.ctx.get("@direction"))
        type_ = value_mapping.get("@type")
        if type_ in (None, "@none"):
            if language is not None or direction is not None:
                raise Decline("language or direction")
            coercion = Coercion("plain")
        elif type_ in ("@id", "@vocab"):
            coercion = Coercion(type_)
        elif type_ == "@json" or not isinstance(type_, str) or not self.tables.check_iri(type_):
            raise Decline("datatype")
        else:
            coercion = Coercion("typed", type_)
        if type_ in ("@id", "@vocab") and (language is not None or direction is not None):
            raise Decline("language or direction")  # applies to non-string values then
        return Term(None, "<" + iri + ">", coercion, value_table, value_mapping.get("@context"),
                    graph_container=bool(container))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


