"""RDF Dataset Canonicalization (RDFC-1.0) on pyld's URDNA2015, with the gaps closed.

pyld implements the algorithm (URDNA2015 and RDFC-1.0 are the same algorithm), but
signing with it as-is has three problems (research/trust.md §4), fixed here:

1. **Escaping.** pyld writes control characters other than TAB/LF/CR raw; RDFC-1.0's
   canonical N-Quads writes ``\\b``, ``\\f`` and ``\\uXXXX`` (upper-case hex). The
   serialization feeds the first-degree hashes as well as the output, so both use
   :func:`serialize_term` here; a signature over such a string then matches
   jsonld.js/rdf-canonize (the rdf-canon test060 decides this byte for byte).
2. **Poison graphs.** URDNA2015 is exponential on symmetric graphs of blank nodes
   (test074: a 10-clique). :class:`Limits` bounds the Hash N-Degree Quads calls and
   the permutations they try (checked *before* each call iterates, so the bound holds),
   plus a wall-clock deadline as a backstop; exceeding any raises
   :class:`CanonicalizationError`.
3. **Speed.** pyld deep-copies a blank node's quads to hash them, re-serializes every
   quad per blank node and deep-copies issuers generically; here quads arrive as
   serialized terms (built once), and the issuer copies itself cheaply: about 3x faster.

Input: quads of serialized terms ``(s, p, o, g or "")`` (:func:`canonicalize_quads`; the
JSON-LD side, :mod:`connector.identity.contexts`, emits those directly) or a pyld-style
dataset ``{graph | "@default": [triple dict, ...]}`` (:func:`canonicalize`, e.g. from
:func:`parse_nquads`, a linear and complete N-Quads parser: pyld's is quadratic and does
not unescape ``\\u``). Inputs are not modified.

Also home of the error tree shared by the identity modules.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pyld.canon import URDNA2015
from pyld.identifier_issuer import IdentifierIssuer

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384}


class DataIntegrityError(ValueError):
    """Base of the identity errors; ``reason`` is a human-readable sentence, ``code`` a short tag."""

    code = "error"

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code


class CanonicalizationError(DataIntegrityError):
    """A document or dataset cannot be canonicalized safely (unsafe JSON-LD, poison graph, bad N-Quads)."""

    code = "canonicalization"


@dataclass(frozen=True)
class Limits:
    """Work bounds for canonicalization. The defaults pass the whole W3C suite with a 4x
    margin (its hardest eval tests need 468 N-degree calls and 2,880 permutations) and
    stop test074 (a 10-clique: 9! permutations per node) within milliseconds."""

    max_ndegree_calls: int = 2_000
    max_permutations: int = 20_000
    deadline_seconds: float = 2.0
    max_quads: int | None = None


DEFAULT_LIMITS = Limits()


# --- canonical N-Quads -----------------------------------------------------------

_ECHAR = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f]')


def _escape_char(match: re.Match) -> str:
    char = match.group()
    return _ECHAR.get(char) or f"\\u{ord(char):04X}"


def escape_literal(value: str) -> str:
    """RDFC-1.0 canonical literal escaping: ECHAR where one exists, else ``\\uXXXX`` for
    U+0000–U+001F and U+007F; everything else (including non-ASCII) is written as is."""
    if value.isprintable() and '"' not in value and "\\" not in value:  # the common case, in C
        return value
    return _NEEDS_ESCAPE.sub(_escape_char, value)


def serialize_term(term: dict[str, Any]) -> str:
    kind = term["type"]
    if kind == "IRI":
        return "<" + term["value"] + ">"
    if kind == "blank node":
        return term["value"]
    out = '"' + escape_literal(term["value"]) + '"'
    datatype = term.get("datatype") or XSD_STRING
    if datatype == RDF_LANGSTRING and term.get("language"):
        return out + "@" + term["language"]
    return out if datatype == XSD_STRING else out + "^^<" + datatype + ">"


Quad = tuple  # (subject, predicate, object, graph name or ""), each a serialized N-Quads term


def dataset_quads(dataset: dict[str, list[dict[str, Any]]]) -> list[Quad]:
    """A pyld-style dataset as serialized-term quads."""
    quads = []
    for graph_name, triples in dataset.items():
        graph = "" if graph_name == "@default" else (
            graph_name if graph_name.startswith("_:") else f"<{graph_name}>")
        for triple in triples:
            quads.append((serialize_term(triple["subject"]), serialize_term(triple["predicate"]),
                          serialize_term(triple["object"]), graph))
    return quads


def _line(terms: Quad | list[str]) -> str:
    if terms[3]:
        return f"{terms[0]} {terms[1]} {terms[2]} {terms[3]} .\n"
    return f"{terms[0]} {terms[1]} {terms[2]} .\n"


def serialize_quad(quad: dict[str, Any]) -> str:
    """One canonical N-Quads line (with the final LF); ``quad["name"]`` absent = default graph."""
    name = quad.get("name")
    return _line([serialize_term(quad[k]) for k in ("subject", "predicate", "object")]
                 + [serialize_term(name) if name is not None else ""])


# --- the canonicalizer -----------------------------------------------------------

class _Issuer(IdentifierIssuer):
    """pyld's issuer with a cheap copy: Hash N-Degree Quads deep-copies the issuer for every
    permutation it tries, and the generic deepcopy was a fifth of canonicalization time."""

    def __deepcopy__(self, memo: dict) -> _Issuer:
        clone = _Issuer(self.prefix)
        clone.counter, clone.existing, clone.order = self.counter, dict(self.existing), list(self.order)
        return clone



class RDFC10(URDNA2015):
    """pyld's URDNA2015 with RDFC-1.0 escaping, work limits and a faster first phase.

    Use once per dataset: ``RDFC10(limits).canonicalize(dataset)`` (or
    ``.canonicalize_quads(quads)``). Afterwards
    ``issued`` maps each input blank node label (without ``_:``) to its canonical one.
    The N-degree steps are pyld's, fenced by :meth:`create_hash_to_related`.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS, hash_algorithm: str = "sha256") -> None:
        super().__init__()
        try:
            self._hash = HASHES[hash_algorithm]
        except KeyError:
            raise CanonicalizationError(f"unsupported RDFC-1.0 hash algorithm {hash_algorithm!r}") from None
        self.limits = limits
        self.issued: dict[str, str] = {}
        self._ndegree_calls = 0
        self._permutations = 0
        self._deadline = 0.0
        # Quads without blank nodes are final once serialized: kept as lines. Quads with
        # blank nodes keep their serialized terms [s, p, o, g] (g "" in the default graph)
        # and the positions of their blank nodes, to be relabelled.
        self._ground: list[str] = []
        self._terms: list[Quad] = []
        self._bnode_positions: list[tuple[int, ...]] = []

    def create_hash(self):
        return self._hash()

    def canonicalize(self, dataset: dict[str, list[dict[str, Any]]]) -> str:
        """The canonical N-Quads of a pyld-style ``dataset``."""
        return self.canonicalize_quads(dataset_quads(dataset))

    def canonicalize_quads(self, quads: Iterable[Quad]) -> str:
        """The canonical N-Quads (sorted lines, LF-terminated, ``_:c14nN`` labels) of quads given
        as serialized terms ``(subject, predicate, object, graph or "")``."""
        self._deadline = time.monotonic() + self.limits.deadline_seconds
        self._load(quads)
        non_normalized = set(self.blank_node_info)
        # 4.4.3 step 4: issue identifiers to blank nodes with unique first-degree hashes
        for id_ in non_normalized:
            self.hash_to_blank_nodes.setdefault(self.hash_first_degree_quads(id_), []).append(id_)
        for _hash, ids in sorted(self.hash_to_blank_nodes.items()):
            if len(ids) == 1:
                self.canonical_issuer.get_id(ids[0])
        # step 5: the rest, through Hash N-Degree Quads (pyld's, fenced by our limits)
        for _hash, ids in sorted(self.hash_to_blank_nodes.items()):
            if len(ids) == 1:
                continue
            results = []
            for id_ in ids:
                if self.canonical_issuer.has_id(id_):
                    continue
                temporary = _Issuer("_:b")
                temporary.get_id(id_)
                results.append(self.hash_n_degree_quads(id_, temporary))
            for result in sorted(results, key=lambda r: r["hash"]):
                for existing in result["issuer"].order:
                    self.canonical_issuer.get_id(existing)
        labels = self.canonical_issuer.existing
        self.issued = {old[2:]: new[2:] for old, new in labels.items()}
        lines = set(self._ground)
        for terms, positions in zip(self._terms, self._bnode_positions):
            relabelled = list(terms)
            for position in positions:
                relabelled[position] = labels[relabelled[position]]
            lines.add(_line(relabelled))
        return "".join(sorted(lines))

    def _load(self, quads: Iterable[Quad]) -> None:
        seen: set[Quad] = set()
        max_quads, info_map = self.limits.max_quads, self.blank_node_info
        for quad in quads:
            if quad in seen:  # a dataset is a set; JSON-LD can state a triple twice
                continue
            seen.add(quad)
            if max_quads is not None and len(seen) > max_quads:
                raise CanonicalizationError(f"dataset exceeds {max_quads} quads", code="too_large")
            # serialized terms: blank nodes are the only ones starting with "_"
            s, p, o, g = quad
            positions = (0,) * (s[0] == "_") + (2,) * (o[0] == "_") + (3,) * (g[:1] == "_")
            if not positions:
                self._ground.append(f"{s} {p} {o} {g} .\n" if g else f"{s} {p} {o} .\n")
                continue
            index = len(self._terms)
            for position in positions:
                info = info_map.get(quad[position])
                if info is None:
                    info = info_map[quad[position]] = {"idx": []}
                if not info["idx"] or info["idx"][-1] != index:  # once per quad
                    info["idx"].append(index)
            self._terms.append(quad)
            self._bnode_positions.append(positions)

    def _pyld_quad(self, index: int) -> dict[str, Any]:
        """Quad ``index`` as the dict pyld's N-degree steps read: they look only at the blank
        nodes' labels and the predicate IRI. Built on demand: most blank nodes never get there."""
        s, p, o, g = self._terms[index]
        quad = {key: {"type": "blank node", "value": term} if term[:1] == "_" else {"type": "other"}
                for key, term in (("subject", s), ("object", o), ("name", g)) if term}
        quad["predicate"] = {"type": "IRI", "value": p[1:-1]}
        return quad

    def hash_first_degree_quads(self, id_: str) -> str:
        """4.6: hash of the sorted quads mentioning ``id_``, itself as ``_:a`` and others as ``_:z``."""
        info = self.blank_node_info[id_]
        if "hash" not in info:
            lines = []
            for index in info["idx"]:
                terms = list(self._terms[index])
                for position in self._bnode_positions[index]:
                    terms[position] = "_:a" if terms[position] == id_ else "_:z"
                lines.append(_line(terms))
            lines.sort()
            md = self.create_hash()
            for line in lines:
                md.update(line.encode("utf-8"))
            info["hash"] = md.hexdigest()
        return info["hash"]

    def create_hash_to_related(self, id_, issuer):
        # Called once at the start of every Hash N-Degree Quads run, before its
        # permutation loop: the place to charge (and refuse) the work it is about to do.
        self._ndegree_calls += 1
        if self._ndegree_calls > self.limits.max_ndegree_calls:
            self._poisoned(f"more than {self.limits.max_ndegree_calls} Hash N-Degree Quads calls")
        if time.monotonic() > self._deadline:
            self._poisoned(f"canonicalization exceeded {self.limits.deadline_seconds} s")
        info = self.blank_node_info[id_]
        if "quads" not in info:
            info["quads"] = [self._pyld_quad(i) for i in info["idx"]]
        related = super().create_hash_to_related(id_, issuer)
        for nodes in related.values():
            count = 1
            for k in range(2, len(nodes) + 1):
                count *= k
                if count > self.limits.max_permutations:
                    break
            self._permutations += count
        if self._permutations > self.limits.max_permutations:
            self._poisoned(f"more than {self.limits.max_permutations} blank node permutations")
        return related

    def _poisoned(self, what: str) -> None:
        raise CanonicalizationError(
            f"refusing to canonicalize: {what} (a poison graph of indistinguishable blank nodes?)",
            code="poison_graph",
        )


def canonicalize(dataset: dict[str, list[dict[str, Any]]], *, limits: Limits = DEFAULT_LIMITS,
                 hash_algorithm: str = "sha256") -> str:
    """RDFC-1.0 canonical N-Quads of a pyld-style dataset."""
    return RDFC10(limits, hash_algorithm).canonicalize(dataset)


def canonicalize_quads(quads: Iterable[Quad], *, limits: Limits = DEFAULT_LIMITS,
                       hash_algorithm: str = "sha256") -> str:
    """RDFC-1.0 canonical N-Quads of serialized-term quads (see :func:`dataset_quads`)."""
    return RDFC10(limits, hash_algorithm).canonicalize_quads(quads)


# --- N-Quads parser -----------------------------------------------------------------

_IRI = r"<((?:[^\x00-\x20<>\"{}|^`\\]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*)>"
_PN = r"A-Za-z0-9_\-\u00b7-\U000effff"  # PN_CHARS, generously: N-Quads input is ours or a test's
_BNODE = r"(_:[A-Za-z0-9_\u00c0-\U000effff](?:[" + _PN + r".]*[" + _PN + r"])?)"
_LITERAL = (r'"((?:[^"\\\n\r]|\\[tbnrf"\'\\]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*)"'
            r"(?:\^\^" + _IRI + r"|@([a-zA-Z]+(?:-[a-zA-Z0-9]+)*))?")
_LINE_PATTERN = (
    r"[ \t]*(?:" + _IRI + "|" + _BNODE + r")[ \t]*" + _IRI
    + r"[ \t]*(?:" + _IRI + "|" + _BNODE + "|" + _LITERAL + r")"
    + r"[ \t]*(?:(?:" + _IRI + "|" + _BNODE + r")[ \t]*)?\.[ \t]*(?:#.*)?")
_BLANK = re.compile(r"[ \t]*(?:#.*)?")
_UNESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_ECHAR_VALUES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text

    def one(match: re.Match) -> str:
        hex_ = match.group(1) or match.group(2)
        return chr(int(hex_, 16)) if hex_ else _ECHAR_VALUES[match.group(3)]

    return _UNESCAPE.sub(one, text)


@functools.lru_cache(maxsize=1)
def _line_regex() -> re.Pattern:
    return re.compile(_LINE_PATTERN)  # compiled on first use: ~50 ms, and only tests parse N-Quads


def parse_nquads(text: str) -> dict[str, list[dict[str, Any]]]:
    """Parse N-Quads into a pyld-style dataset (duplicates dropped). Linear time."""
    dataset: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple] = set()
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        match = _line_regex().fullmatch(line)
        if match is None:
            if _BLANK.fullmatch(line):
                continue
            raise CanonicalizationError(f"N-Quads line {number} is not a valid quad: {line[:120]!r}",
                                        code="nquads_syntax")
        (s_iri, s_bn, p_iri, o_iri, o_bn, o_lit, o_dt, o_lang, g_iri, g_bn) = match.groups()
        subject = {"type": "IRI", "value": _unescape(s_iri)} if s_iri is not None else {
            "type": "blank node", "value": s_bn}
        predicate = {"type": "IRI", "value": _unescape(p_iri)}
        if o_iri is not None:
            obj: dict[str, Any] = {"type": "IRI", "value": _unescape(o_iri)}
        elif o_bn is not None:
            obj = {"type": "blank node", "value": o_bn}
        else:
            obj = {"type": "literal", "value": _unescape(o_lit),
                   "datatype": RDF_LANGSTRING if o_lang else (_unescape(o_dt) if o_dt else XSD_STRING)}
            if o_lang:
                obj["language"] = o_lang
        graph = _unescape(g_iri) if g_iri is not None else (g_bn or "@default")
        key = (graph, *(tuple(sorted(t.items())) for t in (subject, predicate, obj)))
        if key in seen:
            continue
        seen.add(key)
        dataset.setdefault(graph, []).append({"subject": subject, "predicate": predicate, "object": obj})
    return dataset
