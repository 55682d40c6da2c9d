"""SHACL validation of Gaia-X credential subjects before they leave (and when the mock receives them).

Three traps of research/gaiax.md §1.4.4 decide the design:
1. the shapes use ``sh:class gx:RegistrationNumber`` for a ``gx:VatID`` node, so the ontology's
   ``rdfs:subClassOf`` triples go in as pyshacl's ``ont_graph`` (our shapes file carries the few
   we need; with the official files, the OWL file is used);
2. the credential *subjects* are validated, never the VC envelope (also typed gx:LegalPerson);
3. anyURI fields are written as typed values.

Subjects are turned into RDF by :func:`subjects_graph`, a small reader of the compact form we
write and accept (keys ``gx:…``, ``schema:…``, ``vcard:…``, ``dcterms:…``, ``dcat:…``, a bare key
is in the gx namespace as the gx context's ``@vocab`` makes it; ``{"@value", "@type"}`` objects;
nested nodes with or without ``id``): no context is fetched. An unknown prefix is refused.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import SH, XSD

from connector.jsonld.loader import schemas_dir

GX = Namespace("https://w3id.org/gaia-x/development#")
PREFIXES = {
    "gx": str(GX), "schema": "https://schema.org/", "vcard": "http://www.w3.org/2006/vcard/ns#",
    "dcterms": "http://purl.org/dc/terms/", "dct": "http://purl.org/dc/terms/", "dcat": "http://www.w3.org/ns/dcat#",
    "xsd": str(XSD), "odrl": "http://www.w3.org/ns/odrl/2/", "cred": "https://www.w3.org/2018/credentials#",
}
# VC 2.0 / gx context terms that are not gx: properties
TERMS = {"digestSRI": "https://www.w3.org/2018/credentials#digestSRI",
         "name": "https://schema.org/name", "description": "https://schema.org/description"}


class ShapeViolation(ValueError):
    """Credential subjects that break the shapes: each result names the shape, the node and the path."""

    def __init__(self, results: list[ShapeResult]) -> None:
        self.results = results
        super().__init__("; ".join(r.text for r in results))


@dataclass(frozen=True)
class ShapeResult:
    shape: str
    focus: str
    path: str
    message: str

    @property
    def text(self) -> str:
        return f"{self.shape} at {self.path} of {self.focus}: {self.message}"


def _iri(key: str) -> str:
    if key in TERMS:
        return TERMS[key]
    if ":" in key:
        prefix, rest = key.split(":", 1)
        if rest.startswith("//"):
            return key
        if prefix not in PREFIXES:
            raise ValueError(f"unknown prefix {prefix!r} in {key!r} (known: {', '.join(sorted(PREFIXES))})")
        return PREFIXES[prefix] + rest
    return str(GX) + key


def _node(graph: Graph, data: dict[str, Any]) -> URIRef | BNode:
    ident = data.get("id") or data.get("@id")
    node: URIRef | BNode = URIRef(ident) if isinstance(ident, str) else BNode()
    for key, value in data.items():
        if key in ("id", "@id", "@context"):
            continue
        if key in ("type", "@type"):
            for t in value if isinstance(value, list) else [value]:
                graph.add((node, RDF.type, URIRef(_iri(t))))
            continue
        for item in value if isinstance(value, list) else [value]:
            graph.add((node, URIRef(_iri(key)), _object(graph, item)))
    return node


def _object(graph: Graph, value: Any) -> URIRef | BNode | Literal:
    if isinstance(value, dict):
        if "@value" in value:
            dtype = value.get("@type")
            return Literal(value["@value"], datatype=URIRef(_iri(dtype))) if dtype else Literal(value["@value"])
        return _node(graph, value)
    if isinstance(value, bool):
        return Literal(value)
    if isinstance(value, (int, float)):
        return Literal(value)
    return Literal(str(value))  # a JSON string is a simple literal (xsd:string in RDF 1.1)


def subjects_graph(subjects: list[dict[str, Any]]) -> Graph:
    graph = Graph()
    for subject in subjects:
        _node(graph, subject)
    return graph


class ShapesValidator:
    """The shapes and the class hierarchy, loaded once (the official files take seconds)."""

    def __init__(self, shapes_file: str | Path | None = None, ontology_file: str | Path | None = None) -> None:
        self.shapes_file = Path(shapes_file) if shapes_file else schemas_dir() / "gaiax" / "shapes.ttl"
        self.ontology_file = Path(ontology_file) if ontology_file else None
        self._shapes: Graph | None = None
        self._ontology: Graph | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Graph, Graph]:
        with self._lock:
            if self._shapes is None:
                shapes = Graph().parse(self.shapes_file, format="turtle")
                ontology = Graph()
                source = Graph().parse(self.ontology_file, format="turtle") if self.ontology_file else shapes
                from rdflib import RDFS

                for triple in source.triples((None, RDFS.subClassOf, None)):
                    if isinstance(triple[2], URIRef):
                        ontology.add(triple)
                self._shapes, self._ontology = shapes, ontology
            assert self._ontology is not None
            return self._shapes, self._ontology

    def results(self, subjects: list[dict[str, Any]]) -> list[ShapeResult]:
        import pyshacl

        shapes, ontology = self._load()
        try:
            data = subjects_graph(subjects)
        except ValueError as exc:
            return [ShapeResult("(reading)", "(subjects)", "(key)", str(exc))]
        conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes, ont_graph=ontology, inference="none",
                                               advanced=False, allow_warnings=True)
        if conforms:
            return []
        out = []
        for result in report.subjects(RDF.type, SH.ValidationResult):
            shape = report.value(result, SH.sourceShape)
            # a property shape is a blank node: name its node shape instead
            owner = next(iter(shapes.subjects(SH.property, shape)), shape) if isinstance(shape, BNode) else shape
            path = report.value(result, SH.resultPath)
            out.append(ShapeResult(_short(owner), _short(report.value(result, SH.focusNode)),
                                   _short(path) if path is not None else "(node)",
                                   _brief(str(report.value(result, SH.resultMessage) or "violation"))))
        return sorted(out, key=lambda r: (r.shape, r.path, r.message))

    def check(self, subjects: list[dict[str, Any]]) -> None:
        """Raise :class:`ShapeViolation` unless ``subjects`` conform."""
        results = self.results(subjects)
        if results:
            raise ShapeViolation(results)


def _brief(message: str, limit: int = 240) -> str:
    """pyshacl spells out whole ``sh:in`` lists (hundreds of country codes): keep the gist."""
    return message if len(message) <= limit else message[:limit] + "…"


def _short(node: Any) -> str:
    text = str(node)
    for prefix, ns in PREFIXES.items():
        if text.startswith(ns) and prefix != "dct":
            return f"{prefix}:{text[len(ns):]}"
    return "_:" + text if isinstance(node, BNode) else text


_DEFAULT: dict[tuple[str | None, str | None], ShapesValidator] = {}


def validator(shapes_file: str | None = None, ontology_file: str | None = None) -> ShapesValidator:
    """One cached validator per pair of files."""
    key = (shapes_file, ontology_file)
    if key not in _DEFAULT:
        _DEFAULT[key] = ShapesValidator(shapes_file, ontology_file)
    return _DEFAULT[key]
