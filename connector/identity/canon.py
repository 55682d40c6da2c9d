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
:func:`parse_nquads` in :mod:`.nquads`, a linear and complete N-Quads parser: pyld's is
quadratic and does not unescape ``\\u``). Inputs are not modified.

Also home of the error tree shared by the identity modules.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pyld.canon import URDNA2015, permutations
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
        return _Issuer.copy_of(self)

    @staticmethod
    def copy_of(issuer: IdentifierIssuer) -> _Issuer:
        clone = _Issuer(issuer.prefix)
        clone.counter, clone.existing, clone.order = issuer.counter, dict(issuer.existing), list(issuer.order)
        return clone



class RDFC10(URDNA2015):
    """pyld's URDNA2015 with RDFC-1.0 escaping, work limits and a faster first phase.

    Use once per dataset: ``RDFC10(limits).canonicalize(dataset)`` (or
    ``.canonicalize_quads(quads)``). Afterwards
    ``issued`` maps each input blank node label (without ``_:``) to its canonical one.
    The N-degree steps follow pyld's, fenced by :meth:`create_hash_to_related`.
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
        # blank nodes keep their serialized terms (s, p, o, g) (g "" in the default graph),
        # to be relabelled; each blank node maps to the indexes of its quads among those.
        self._ground: list[str] = []
        self._terms: list[Quad] = []
        self._quads_of: dict[str, list[int]] = {}
        self._first_degree: dict[str, str] = {}

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
        non_normalized = list(self._quads_of)
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
        # relabelling is one-to-one, so the lines stay distinct; only blank nodes are in labels
        get = labels.get
        lines = self._ground
        lines += [f"{get(s, s)} {p} {get(o, o)} {get(g, g)} .\n" if g else f"{get(s, s)} {p} {get(o, o)} .\n"
                  for s, p, o, g in self._terms]
        lines.sort()
        return "".join(lines)

    def _load(self, quads: Iterable[Quad]) -> None:
        unique = dict.fromkeys(quads)  # a dataset is a set (JSON-LD can state a triple twice); ordered
        max_quads = self.limits.max_quads
        if max_quads is not None and len(unique) > max_quads:
            raise CanonicalizationError(f"dataset exceeds {max_quads} quads", code="too_large")
        ground, terms, quads_of = self._ground, self._terms, self._quads_of
        for quad in unique:
            # serialized terms: blank nodes are the only ones starting with "_"
            s, p, o, g = quad
            s_blank, o_blank, g_blank = s[0] == "_", o[0] == "_", g[:1] == "_"
            if not (s_blank or o_blank or g_blank):
                ground.append(f"{s} {p} {o} {g} .\n" if g else f"{s} {p} {o} .\n")
                continue
            index = len(terms)
            terms.append(quad)
            if not (o_blank or g_blank):  # the common case: only the subject is a blank node
                if s in quads_of:
                    quads_of[s].append(index)
                else:
                    quads_of[s] = [index]
                continue
            for node in (s if s_blank else None, o if o_blank and o != s else None,
                         g if g_blank and g != s and g != o else None):  # once per quad
                if node is not None:
                    if node in quads_of:
                        quads_of[node].append(index)
                    else:
                        quads_of[node] = [index]

    def hash_first_degree_quads(self, id_: str) -> str:
        """4.6: hash of the sorted quads mentioning ``id_``, itself as ``_:a`` and others as ``_:z``."""
        digest = self._first_degree.get(id_)
        if digest is None:
            lines = []
            for index in self._quads_of[id_]:
                s, p, o, g = self._terms[index]
                if s[0] == "_":
                    s = "_:a" if s == id_ else "_:z"
                if o[0] == "_":
                    o = "_:a" if o == id_ else "_:z"
                if g:
                    if g[0] == "_":
                        g = "_:a" if g == id_ else "_:z"
                    lines.append(f"{s} {p} {o} {g} .\n")
                else:
                    lines.append(f"{s} {p} {o} .\n")
            lines.sort()
            digest = self._first_degree[id_] = self._hash("".join(lines).encode("utf-8")).hexdigest()
        return digest

    # 4.8 Hash N-Degree Quads: pyld's steps on our serialized quads (no quad dicts, no deep
    # copies), with the work charged to the limits before each permutation loop.

    def hash_n_degree_quads(self, id_: str, issuer: IdentifierIssuer) -> dict[str, Any]:
        hash_to_related = self.create_hash_to_related(id_, issuer)
        md = self.create_hash()
        canonical = self.canonical_issuer.existing
        for related_hash, blank_nodes in sorted(hash_to_related.items()):
            md.update(related_hash.encode("utf-8"))
            chosen_path, chosen_issuer = "", None
            # pyld's order (ties keep the first); one node has one permutation
            for permutation in permutations(blank_nodes) if len(blank_nodes) > 1 else (blank_nodes,):
                issuer_copy = _Issuer.copy_of(issuer)
                path, recursion_list, skip = "", [], False
                for related in permutation:
                    if related in canonical:
                        path += canonical[related]
                    else:
                        if related not in issuer_copy.existing:
                            recursion_list.append(related)
                        path += issuer_copy.get_id(related)
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for related in recursion_list:
                    result = self.hash_n_degree_quads(related, issuer_copy)
                    path += issuer_copy.get_id(related) + "<" + result["hash"] + ">"
                    issuer_copy = result["issuer"]
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path, chosen_issuer = path, issuer_copy
            md.update(chosen_path.encode("utf-8"))
            issuer = chosen_issuer
        return {"hash": md.hexdigest(), "issuer": issuer}

    def create_hash_to_related(self, id_: str, issuer: IdentifierIssuer) -> dict[str, list[str]]:
        # Called once at the start of every Hash N-Degree Quads run, before its
        # permutation loop: the place to charge (and refuse) the work it is about to do.
        self._ndegree_calls += 1
        if self._ndegree_calls > self.limits.max_ndegree_calls:
            self._poisoned(f"more than {self.limits.max_ndegree_calls} Hash N-Degree Quads calls")
        if time.monotonic() > self._deadline:
            self._poisoned(f"canonicalization exceeded {self.limits.deadline_seconds} s")
        related: dict[str, list[str]] = {}
        canonical, issued = self.canonical_issuer.existing, issuer.existing
        for index in self._quads_of[id_]:
            s, p, o, g = self._terms[index]
            if o[0] != "_" and g[:1] != "_" and s == id_:
                continue  # no other blank node in this quad
            for node, position in ((s, "s"), (o, "o"), (g, "g")):
                if node[:1] != "_" or node == id_:
                    continue
                # 4.7 Hash Related Blank Node
                identifier = canonical.get(node) or issued.get(node) or self.hash_first_degree_quads(node)
                text = position + (p if position != "g" else "") + identifier
                related.setdefault(self._hash(text.encode("utf-8")).hexdigest(), []).append(node)
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


# re-exported from the parser's old home (imported last: it needs the errors above)
from .nquads import parse_nquads as parse_nquads  # noqa: E402
