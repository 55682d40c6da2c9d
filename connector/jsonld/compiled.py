"""Compiled JSON-LD → RDF for documents whose contexts are pinned URLs: one walk, no expanded form.

pyld's expansion re-derives every key's meaning on every document (term lookups, IRI
expansion, scoped-context bookkeeping): most of the time of signing a large credential.
Here the meaning of each key in each active context is worked out once, by pyld itself,
and kept in a term table (:class:`TermTable`); a document is then walked once and turned
straight into quads of serialized N-Quads terms.

**Context processing stays pyld's.** Active contexts are computed by pyld's own
``_process_context`` (through the caller's processor, which memoises them): the table for
a document's context set is keyed by its tuple of URLs and computed once; the type-scoped,
property-scoped and reverted ("previous") contexts reached from it are cached as
transitions of the tables themselves. Term meaning comes from pyld's ``_expand_iri`` and
term definitions, so what the walk knows of a context is exactly what pyld knows.

**What the walk covers** (it follows pyld 3.3's ``_expand``/``_expand_object``/``_expand_value``
and toRdf for these, step for step):

- ``@context``: a URL or a list of URLs, and (when the caller admits them) inline context
  objects, at the top of the document only (no ``@context`` inside the document); the
  table is keyed by the URLs and the canonical JSON of the objects;
- node objects with ``@id`` (a string) and ``@type`` (a string or a list of strings),
  keyword aliases (``id``, ``type``), terms, compact IRIs, absolute IRIs and ``@vocab``;
- type-scoped contexts (``@propagate: false`` semantics, reverting at nested nodes,
  several types applied in lexical order) and property-scoped contexts (applied with
  override-protected, propagating), both as pyld applies them;
- containers: none, ``@set``, and ``@graph`` (with or without ``@set``) holding node objects:
  each becomes a blank-node-named graph, as pyld wraps it (Data Integrity's ``proof``);
- values: strings, numbers, booleans and ``null`` (dropped), nested arrays, nested node
  objects; type coercion to ``@id``, ``@vocab`` or a datatype IRI, with no language or
  direction in effect.

**Declined** (:class:`Decline`; the caller then runs the general algorithm, which also
produces the proper error for invalid documents): nested ``@context``; value
objects (``@value``), ``@list``, ``@set``, ``@graph``, ``@reverse``, ``@included``,
``@nest``, ``@index``, ``@language``, ``@direction``, ``@json`` and every other keyword as
a key; other containers (``@list``, language/index/id/type maps, ``@graph`` with ``@id`` or
``@index``) and anything but a node object in a ``@graph`` container;
reverse properties; a default or term language or direction; a key whose expansion differs
between the active context and its own scoped context; non-string ``@id``; colliding
``@id`` keys; two keys expanding to ``@type``; a term, type, datatype or value IRI the
caller's ``check_iri`` refuses (undefined term, relative IRI); non-JSON values (NaN,
infinities, non-string keys, other Python types). The decision is made per document,
before anything is returned: a declined document leaves no trace.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .term_table import DROP, TERM_LIMIT, Decline, Term, TermTable, as_list

__all__ = ["CompiledContexts", "Decline", "Quad"]

Quad = tuple[str, str, str, str]
ProcessContext = Callable[..., dict[str, Any]]  # (active_ctx, local_ctx, **flags) -> active_ctx
TABLE_LIMIT = 1_024
_INTEGER = '"^^<http://www.w3.org/2001/XMLSchema#integer>'
_INT_LIMIT = 10**21  # from 1e21 on, JSON-LD writes integers as doubles
_INF = float("inf")


class CompiledContexts:
    """Term tables for one context loader, built on first use and kept.

    ``process(active_ctx, local_ctx, **flags)`` is pyld's context processing (memoised by the
    caller); ``check_iri`` says whether an IRI may appear in the output (else: decline);
    ``literal(value_object)`` serializes an expanded value object as an N-Quads literal, and
    ``escape`` a string's lexical form (the common case, inlined).
    """

    def __init__(self, process: ProcessContext, initial: dict[str, Any], check_iri: Callable[[str], bool],
                 literal: Callable[[dict[str, Any]], str], escape: Callable[[str], str],
                 prefix: Iterable[Any] = ()) -> None:
        self.process = process
        self.escape = escape
        self.initial = initial
        self.check_iri = check_iri
        self.literal = literal
        self.prefix = list(prefix)  # contexts put before the document's own (safe mode's sentinel)
        self._tables: dict[int, tuple[dict[str, Any], Any, TermTable]] = {}
        self._top: dict[tuple[str, ...], TermTable] = {}
        self.literals: dict[tuple[type, Any, str | None], str] = {}
        self._lock = threading.Lock()

    def table(self, ctx: dict[str, Any], hold: Any = None) -> TermTable:
        entry = self._tables.get(id(ctx))
        if entry is not None and entry[0] is ctx:
            return entry[2]
        with self._lock:
            if len(self._tables) >= TABLE_LIMIT:
                self._tables.clear()
            table = TermTable(self, ctx)
            self._tables[id(ctx)] = (ctx, hold, table)  # holding ctx keeps its id unique
            return table

    def top(self, contexts: tuple[str, ...]) -> TermTable:
        """The table for a document whose ``@context`` is ``contexts``: URLs, or inline context
        objects as canonical JSON text (parsed here, so the table owns what pyld keeps of them)."""
        table = self._top.get(contexts)
        if table is None:
            local = [json.loads(c) if c[:1] == "{" else c for c in contexts]
            table = self.table(self.process(self.initial, [*self.prefix, *local]), hold=local)
            if len(self._top) >= TABLE_LIMIT:  # inline contexts come from peers: stay bounded
                self._top.clear()
            self._top[contexts] = table
        return table

    def quads(self, document: dict[str, Any], blank_node: Callable[[str | None], str], *,
              inline: bool = False) -> list[Quad]:
        """The quads of ``document`` (default graph), or :class:`Decline`. ``blank_node(label)``
        issues blank node labels (``None``: a fresh one); ``inline`` admits context objects
        (besides URLs) in the top-level ``@context``, the caller having vetted them."""
        key = []
        for context in as_list(document.get("@context", [])):
            if type(context) is str and context[:1] != "{":
                key.append(context)
            elif inline and type(context) is dict:
                try:
                    key.append(json.dumps(context, sort_keys=True, allow_nan=False))
                except (TypeError, ValueError) as exc:
                    raise Decline("context is not JSON") from exc
            else:
                raise Decline("inline context")
        walk = _Walk(self, blank_node)
        try:
            walk.node(self.top(tuple(key)), None, document, top=True)
        except Decline:
            raise
        except Exception as exc:  # noqa: BLE001 - pyld refusing a context, too deep, keys that do not sort
            raise Decline(f"{type(exc).__name__}: {exc}") from exc
        return walk.quads


class _Walk:
    """One document's walk: pyld's expansion of node objects, emitting quads as it goes."""

    def __init__(self, tables: CompiledContexts, blank_node: Callable[[str | None], str]) -> None:
        self.tables = tables
        self.blank_node = blank_node
        self.quads: list[Quad] = []

    def node(self, table: TermTable, via: Term | None, element: dict[str, Any], graph: str = "",
             top: bool = False) -> str:
        if "@context" in element and not top:
            raise Decline("nested @context")
        # pyld _expand: revert a non-propagated (type-scoped) context unless this is a
        # subject reference; a value object would keep it, but value objects are declined.
        # (The top node's table already holds its @context, applied after this step.)
        if table.has_previous and not top:
            reference = False
            if len(element) <= 2:
                for key in sorted(element):
                    if type(key) is not str:
                        raise Decline("non-string key")
                    expanded = table.expand_iri(key, vocab=True)
                    if expanded == "@value":
                        raise Decline("value object")
                    if expanded == "@id" and len(element) == 1:
                        reference = True
                        break
            if not reference:
                table = table.reverted()
        if via is not None and via.node_scoped is not None:
            table = table.apply(via.node_scoped, override_protected=True)
        # pyld _prepare_nested_context: type-scoped contexts, looked up in the context before any applies
        type_table, types = table, None
        for key, value in element.items():
            if type(key) is not str:
                raise Decline("non-string key")
            if table.is_type_key(key):
                if types is not None:
                    raise Decline("two @type keys")
                types = as_list(value)
                if not types or not all(type(t) is str for t in types):
                    raise Decline("@type value")
        if types:
            key_types = tuple(sorted(types))
            applied = type_table.transitions.get(("types", key_types))
            if applied is None:
                applied = type_table
                for type_ in key_types:
                    mapping = type_table.mappings.get(type_)
                    local = mapping.get("@context") if mapping else None
                    if local is not None and local is not False:
                        applied = applied.apply(local, propagate=False)
                type_table.transitions[("types", key_types)] = applied
            table = applied
        return self._properties(table, type_table, element, types, graph)

    def _properties(self, table: TermTable, type_table: TermTable, element: dict[str, Any],
                    types: list[Any] | None, graph: str) -> str:
        subject: str | None = None
        pairs: list[tuple[str, str]] = []
        typed = 0
        terms = table.terms
        for key, value in element.items():
            term = terms.get(key) or table.term(key)
            if term is DROP:
                continue
            assert isinstance(term, Term)
            if term.keyword is not None:
                if term.keyword == "@type":  # must be the key found before type-scoped contexts applied
                    typed += 1
                elif term.keyword == "@context" and key != "@context":
                    raise Decline("@context alias")
                elif term.keyword == "@id":
                    if subject is not None or type(value) is not str:
                        raise Decline("@id")
                    subject = self.reference(table.expand_iri(value, vocab=False))
                continue  # @type: below; @context: the top one, already applied
            predicate, value_table = term.predicate, term.value_table
            assert predicate is not None and value_table is not None and term.coercion is not None
            suffix = None if term.graph_container else term.coercion.string_suffix
            for item in (value if type(value) is list else (value,)):
                # the common case inlined: a string needing no escapes, written as a literal
                if suffix is not None and type(item) is str and item.isprintable() \
                        and '"' not in item and "\\" not in item:
                    pairs.append((predicate, '"' + item + suffix))
                else:
                    self._values(value_table, term, predicate, item, pairs, graph)
        if typed != (0 if types is None else 1):
            raise Decline("a type-scoped context changed which key is @type")
        if subject is None:
            subject = self.blank_node(None)
        append = self.quads.append
        for predicate, obj in pairs:
            append((subject, predicate, obj, graph))
        if types:
            for type_ in types:
                iri = type_table.expand_iri(type_, vocab=True)
                if iri is None:
                    raise Decline("@type")
                obj = self.blank_node(iri) if iri.startswith("_:") else "<" + self._checked(iri) + ">"
                append((subject, _RDF_TYPE, obj, graph))
        return subject

    def _values(self, table: TermTable, term: Term, predicate: str, item: Any,
                pairs: list[tuple[str, str]], graph: str) -> None:
        kind = type(item)
        if kind is list:  # nested arrays flatten (no @list container here)
            for inner in item:
                self._values(table, term, predicate, inner, pairs, graph)
        elif term.graph_container:
            # pyld wraps each expanded value in a graph object: a blank node naming a graph
            # that holds the node (and what it nests); only node objects are covered here
            if kind is not dict:
                raise Decline("a value other than a node object in a @graph container")
            name = self.blank_node(None)
            self.node(table, term, item, name)
            pairs.append((predicate, name))
        elif kind is dict:
            pairs.append((predicate, self.node(table, term, item, graph)))
        elif item is None:
            return
        elif kind is str or kind is bool or kind is int or kind is float:
            pairs.append((predicate, self.scalar(table, term, item)))
        else:
            raise Decline(f"{kind.__name__} value")

    def scalar(self, table: TermTable, term: Term, value: Any) -> str:
        coercion = term.coercion
        assert coercion is not None
        kind = type(value)
        if kind is str:
            if coercion.string_suffix is not None:  # the common case, inlined: a string literal
                return '"' + self.tables.escape(value) + coercion.string_suffix
            if coercion.kind == "@id":
                return self.reference(table.expand_iri(value, vocab=False))
            if coercion.kind == "@vocab":
                return self.reference(table.expand_iri(value, vocab=True))
        elif kind is int and coercion.kind == "plain" and -_INT_LIMIT < value < _INT_LIMIT:
            return '"' + str(value) + _INTEGER
        elif kind is float and (value != value or value in (_INF, -_INF)):
            raise Decline("non-finite number")
        # numbers and booleans repeat: their literals are memoised (not 0.0, equal to -0.0 but
        # written differently as a double)
        cache = self.tables.literals
        key = (kind, value, coercion.datatype)
        text = cache.get(key) if value or kind is not float else None
        if text is None:
            if coercion.kind == "typed":
                text = self.tables.literal({"@value": value, "@type": coercion.datatype})
            else:
                text = self.tables.literal({"@value": value})
            if len(cache) >= TERM_LIMIT:
                cache.clear()
            cache[key] = text
        return text

    def reference(self, iri: str | None) -> str:
        if iri is None:
            raise Decline("null IRI")
        if iri.startswith("_:"):
            return self.blank_node(iri)
        return "<" + self._checked(iri) + ">"

    def _checked(self, iri: str) -> str:
        if not self.tables.check_iri(iri):
            raise Decline("IRI")
        return iri


_RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
