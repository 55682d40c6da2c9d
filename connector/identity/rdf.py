"""The expanded form of a document to RDF quads, for signing: one pass that refuses what
JSON-LD to RDF would silently drop (a relative IRI, a term the contexts do not define, caught
through the sentinel ``@vocab`` that ``contexts`` puts in place) and serializes each N-Quads
term once, ready for ``canon.canonicalize_quads``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pyld.identifier_issuer import IdentifierIssuer
from pyld.jsonld import JsonLdProcessor

from .canon import CanonicalizationError, Quad, escape_literal, serialize_term

# expansion maps an undefined term under this vocabulary, so it can be named instead of dropped
SENTINEL_VOCAB = "urn:x-pontis:undefined-term:"
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*:[^\s]*$")
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDF_TYPE, _RDF_FIRST, _RDF_REST, _RDF_NIL = (f"<{_RDF}{t}>" for t in ("type", "first", "rest", "nil"))
_XSD = "http://www.w3.org/2001/XMLSchema#"
_XSD_STRING, _XSD_BOOLEAN, _XSD_INTEGER, _XSD_DOUBLE = (_XSD + t for t in ("string", "boolean", "integer",
                                                                           "double"))


def _iri(value: Any, role: str) -> str:
    """Check an IRI from the expanded form; ``role`` says where it was found, for the message."""
    if not isinstance(value, str) or not _ABSOLUTE_IRI.match(value):
        raise CanonicalizationError(f"relative IRI {value!r} {role}: it would be dropped from the signed "
                                    "data (use an absolute IRI)", code="relative_iri")
    if value.startswith(SENTINEL_VOCAB):
        term = value[len(SENTINEL_VOCAB):]
        raise CanonicalizationError(f"undefined term {term!r} {role}: the document's contexts do not define "
                                    "it, so it would be dropped from the signed data", code="undefined_term")
    return value


class _Emitter:
    """One pass over the expanded form: checks every IRI and emits quads of serialized
    N-Quads terms ``(s, p, o, g or "")`` straight for :func:`canonicalize_quads`."""

    def __init__(self) -> None:
        self.quads: list[Quad] = []
        self.issuer = IdentifierIssuer("_:b")
        self._predicates: dict[str, str] = {}
        self._pyld = JsonLdProcessor()
        self._options = {"rdfDirection": None, "processingMode": "json-ld-1.1"}

    def node_id(self, node: dict, role: str) -> str:
        id_ = node.get("@id")
        if id_ is None:
            return self.issuer.get_id()
        if isinstance(id_, str) and id_.startswith("_:"):
            return self.issuer.get_id(id_)
        return "<" + _iri(id_, role) + ">"

    def node(self, node: dict, graph: str, role: str = "as @id") -> str:
        subject = self.node_id(node, role)
        append = self.quads.append
        for key, values in node.items():
            if key == "@type":
                for type_ in values:
                    if type_.startswith("_:"):
                        append((subject, _RDF_TYPE, self.issuer.get_id(type_), graph))
                    else:
                        append((subject, _RDF_TYPE, "<" + _iri(type_, "as @type") + ">", graph))
            elif key == "@graph":
                for item in values:
                    if isinstance(item, dict) and "@value" not in item and "@list" not in item:
                        self.node(item, subject)
            elif key == "@included":
                for item in values:
                    self.node(item, graph)
            elif key == "@reverse":
                for prop, items in values.items():
                    p = self.predicate(prop)
                    for item in items:
                        append((self.node(item, graph), p, subject, graph))
            elif key in ("@id", "@index"):
                continue
            elif key.startswith("@"):
                raise CanonicalizationError(f"unexpected keyword {key!r} in expanded node",
                                            code="invalid_jsonld")
            else:
                p = self.predicate(key)
                for item in values:
                    append((subject, p, self.object(item, graph, key), graph))
        return subject

    def predicate(self, key: str) -> str:
        term = self._predicates.get(key)
        if term is None:
            if key.startswith("_:"):
                raise CanonicalizationError(f"blank node property {key!r} is not RDF and would be dropped",
                                            code="relative_iri")
            term = self._predicates[key] = "<" + _iri(key, "as a property") + ">"
        return term

    def object(self, item: Any, graph: str, prop: str) -> str:
        if "@value" in item:
            if "@direction" in item:
                raise CanonicalizationError(f"@direction on a value of <{prop}> is not preserved by the "
                                            "canonicalizer (pyld drops it)", code="unsupported_feature")
            datatype = item.get("@type")
            if datatype is not None and datatype != "@json":
                _iri(datatype, f"as the datatype of a value of <{prop}>")
            return self.literal(item)
        if "@list" in item:
            return self.rdf_list(item["@list"], graph, prop)
        return self.node(item, graph, f"as the value of <{prop}>")

    def literal(self, item: dict) -> str:
        """pyld's value-object → literal conversion, inlined for plain JSON values (pyld's own
        goes through slow numbers-ABC checks); anything unusual is left to pyld."""
        value, datatype, kind = item["@value"], item.get("@type"), type(item["@value"])
        if datatype != _XSD_DOUBLE and datatype != "@json" and "@language" not in item:
            if kind is str:
                text = '"' + escape_literal(value) + '"'
                return text if datatype is None or datatype == _XSD_STRING else text + "^^<" + datatype + ">"
            if kind is bool:
                return ('"true"' if value else '"false"') + "^^<" + (datatype or _XSD_BOOLEAN) + ">"
            # like jsonld.js, a float with an integral value is an integer (1.0 -> "1")
            integral = kind is int or kind is float and value.is_integer()
            if integral and abs(value) < 1e21:
                return '"' + str(int(value)) + '"^^<' + (datatype or _XSD_INTEGER) + ">"
            if kind is float and math.isfinite(value):
                return '"' + canonical_double(value) + '"^^<' + (datatype or _XSD_DOUBLE) + ">"
        return serialize_term(self._pyld._object_to_rdf(item, self.issuer, [], self._options))

    def rdf_list(self, items: list, graph: str, prop: str) -> str:
        if not items:
            return _RDF_NIL
        heads = [self.issuer.get_id() for _ in items]
        for i, item in enumerate(items):
            self.quads.append((heads[i], _RDF_FIRST, self.object(item, graph, prop), graph))
            self.quads.append((heads[i], _RDF_REST, heads[i + 1] if i + 1 < len(items) else _RDF_NIL, graph))
        return heads[0]


def canonical_double(value: float) -> str:
    """pyld's xsd:double form (``1.5E0``, ``1.234E-5``) without its per-call regex."""
    mantissa, exponent = f"{value:1.15E}".split("E")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    return f"{mantissa}E{'-' if exponent[0] == '-' else ''}{exponent[1:].lstrip('0') or '0'}"


def to_quads(expanded: list) -> list[Quad]:
    """The RDF quads of an expanded document, refusing anything JSON-LD→RDF would drop."""
    emitter = _Emitter()
    for item in expanded:
        # top-level values and lists are free-floating: not part of the dataset
        if isinstance(item, dict) and "@value" not in item and "@list" not in item:
            emitter.node(item, "")
    return emitter.quads
