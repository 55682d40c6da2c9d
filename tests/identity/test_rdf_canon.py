"""The W3C RDF Dataset Canonicalization (RDFC-1.0) test suite, byte for byte.

Every entry of ``rdf-canon/tests/manifest.jsonld`` runs: 64 eval tests (canonical
N-Quads), 21 map tests (issued identifiers) and the negative poison-graph test074,
which must be refused within a time bound. The inputs are parsed with our linear
N-Quads parser (pyld's is quadratic and does not unescape ``\\u``; test060 needs it).
"""

from __future__ import annotations

import time

import pytest
from pyld.canon import URDNA2015

from connector.identity.canon import (
    RDFC10,
    CanonicalizationError,
    Limits,
    canonicalize,
    escape_literal,
    parse_nquads,
    serialize_quad,
)

from .conftest import SKIP_REASON, has_shared, load_json, rdf_canon_dir

POISON_BOUND_SECONDS = 5.0
HASHES = {None: "sha256", "SHA256": "sha256", "SHA384": "sha384"}


def manifest_entries(kind: str) -> list:
    if not has_shared():
        return [pytest.param(None, id="no-shared", marks=pytest.mark.skip(reason=SKIP_REASON))]
    entries = load_json(rdf_canon_dir() / "manifest.jsonld")["entries"]
    return [pytest.param(e, id=e["id"].lstrip("#")) for e in entries if e["type"] == kind]


def read(relative: str) -> str:
    return (rdf_canon_dir() / relative).read_text(encoding="utf-8")


@pytest.mark.parametrize("entry", manifest_entries("rdfc:RDFC10EvalTest"))
def test_eval(entry):
    result = canonicalize(parse_nquads(read(entry["action"])), hash_algorithm=HASHES[entry.get("hashAlgorithm")])
    assert result.encode("utf-8") == read(entry["result"]).encode("utf-8")


@pytest.mark.parametrize("entry", manifest_entries("rdfc:RDFC10MapTest"))
def test_issued_identifiers_map(entry):
    canonicalizer = RDFC10(hash_algorithm=HASHES[entry.get("hashAlgorithm")])
    canonicalizer.canonicalize(parse_nquads(read(entry["action"])))
    assert canonicalizer.issued == load_json(rdf_canon_dir() / entry["result"])


@pytest.mark.parametrize("entry", manifest_entries("rdfc:RDFC10NegativeEvalTest"))
def test_poison_graph_is_refused_in_bounded_time(entry):
    dataset = parse_nquads(read(entry["action"]))
    started = time.monotonic()
    with pytest.raises(CanonicalizationError) as caught:
        canonicalize(dataset)
    elapsed = time.monotonic() - started
    assert caught.value.code == "poison_graph" and "poison graph" in caught.value.reason
    assert elapsed < POISON_BOUND_SECONDS, f"took {elapsed:.2f} s"


@pytest.mark.skipif(not has_shared(), reason=SKIP_REASON)
def test_poison_graph_deadline_backstop():
    """Even with the counters lifted, the wall-clock deadline stops test074."""
    dataset = parse_nquads(read("rdfc10/test074-in.nq"))
    limits = Limits(max_ndegree_calls=10**9, max_permutations=10**12, deadline_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(CanonicalizationError, match="exceeded 0.5 s"):
        canonicalize(dataset, limits=limits)
    assert time.monotonic() - started < POISON_BOUND_SECONDS


@pytest.mark.skipif(not has_shared(), reason=SKIP_REASON)
def test_default_limits_leave_headroom_on_the_whole_suite():
    """The defaults must not be tuned to the edge: every eval test fits in a quarter of them."""
    quarter = Limits(max_ndegree_calls=Limits().max_ndegree_calls // 4,
                     max_permutations=Limits().max_permutations // 4)
    for entry in load_json(rdf_canon_dir() / "manifest.jsonld")["entries"]:
        if entry["type"] == "rdfc:RDFC10EvalTest":
            canonicalize(parse_nquads(read(entry["action"])), limits=quarter,
                         hash_algorithm=HASHES[entry.get("hashAlgorithm")])


@pytest.mark.skipif(not has_shared(), reason=SKIP_REASON)
def test_agrees_with_pyld_where_pyld_is_right():
    """Apart from escaping, we must be pyld's algorithm: same output on every eval input
    without control characters (pyld parses its own input here, with its N-Quads parser)."""
    from pyld.nquads import parse_nquads as pyld_parse

    compared = 0
    for entry in load_json(rdf_canon_dir() / "manifest.jsonld")["entries"]:
        if entry["type"] != "rdfc:RDFC10EvalTest" or entry.get("hashAlgorithm") or "060" in entry["id"]:
            continue
        text = read(entry["action"])
        ours = canonicalize(parse_nquads(text))
        theirs = URDNA2015().main(pyld_parse(text), {"format": "application/n-quads"})
        assert ours == theirs, entry["id"]
        compared += 1
    assert compared >= 60


def test_rdfc10_escaping_of_control_characters():
    # test060's expectations: ECHAR where one exists, upper-case \\uXXXX for the other C0 and DEL
    assert escape_literal("\b\t\n\f\r\"\\") == '\\b\\t\\n\\f\\r\\"\\\\'
    assert escape_literal("\x00\x07\x0b\x0e\x1f\x7f") == "\\u0000\\u0007\\u000B\\u000E\\u001F\\u007F"
    assert escape_literal("\x80 é ∞ 🌃 '") == "\x80 é ∞ 🌃 '"  # not escaped
    quad = {"subject": {"type": "IRI", "value": "urn:s"}, "predicate": {"type": "IRI", "value": "urn:p"},
            "object": {"type": "literal", "value": "a\x0bb", "datatype": "http://www.w3.org/2001/XMLSchema#string"}}
    assert serialize_quad(quad) == '<urn:s> <urn:p> "a\\u000Bb" .\n'


def test_first_degree_hashes_use_rdfc10_escaping():
    """Escaping feeds the blank node hashes, not just the output: the labels must follow
    the SHA-256 of the RDFC-1.0 lines (pyld would hash U+000B raw)."""
    import hashlib

    dataset = parse_nquads('_:x <urn:p> "x\\u000By" .\n_:y <urn:p> "x\\u000Cy" .\n')
    vt = hashlib.sha256(b'_:a <urn:p> "x\\u000By" .\n').hexdigest()
    ff = hashlib.sha256(b'_:a <urn:p> "x\\fy" .\n').hexdigest()
    first, second = ('"x\\u000By"', '"x\\fy"') if vt < ff else ('"x\\fy"', '"x\\u000By"')
    assert canonicalize(dataset) == f"_:c14n0 <urn:p> {first} .\n_:c14n1 <urn:p> {second} .\n"
    raw = hashlib.sha256(b'_:a <urn:p> "x\x0by" .\n').hexdigest()
    assert raw != vt


def test_parser_handles_escapes_comments_and_duplicates():
    text = ('# comment\n'
            '<urn:ex:\\u0065x> <urn:p> "a\\tb\\u00E9\\U0001F303" <urn:g> . # trailing\n'
            '\n'
            '_:b0 <urn:p> "chat"@fr-CA .\n'
            '_:b0 <urn:p> "chat"@fr-CA .\n'
            '_:b0 <urn:p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .\n')
    dataset = parse_nquads(text)
    (graph_quad,) = dataset["urn:g"]
    assert graph_quad["subject"]["value"] == "urn:ex:ex"
    assert graph_quad["object"]["value"] == "a\tb\u00e9\U0001F303"
    assert len(dataset["@default"]) == 2  # the duplicate is gone: a dataset is a set
    for bad in ('<urn:s> <urn:p> "unterminated .\n', '<urn:s> "literal" <urn:o> .\n', '<a b> <urn:p> <urn:o> .\n'):
        with pytest.raises(CanonicalizationError, match="not a valid quad"):
            parse_nquads(bad)


def test_parser_is_linear_enough():
    lines = "".join(f'<urn:s{i}> <urn:p> "v{i}" .\n' for i in range(20_000))
    started = time.monotonic()
    assert len(parse_nquads(lines)["@default"]) == 20_000
    assert time.monotonic() - started < 5


def test_max_quads_and_unknown_hash():
    dataset = parse_nquads("".join(f"<urn:s> <urn:p> <urn:o{i}> .\n" for i in range(10)))
    with pytest.raises(CanonicalizationError, match="exceeds 5 quads"):
        canonicalize(dataset, limits=Limits(max_quads=5))
    with pytest.raises(CanonicalizationError, match="unsupported"):
        canonicalize(dataset, hash_algorithm="md5")


def test_input_dataset_is_not_modified():
    dataset = parse_nquads("_:x <urn:p> _:y .\n_:y <urn:p> \"v\" .\n")
    before = repr(dataset)
    canonicalize(dataset)
    assert repr(dataset) == before
