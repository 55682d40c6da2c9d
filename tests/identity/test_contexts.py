"""The signing loader, the context policy, safe mode, and the expanded-form → RDF walk."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from cachetools import LRUCache
from pyld import jsonld
from pyld.context_resolver import ContextResolver
from pyld.documentloader.frozen import BUNDLED_CONTEXTS

from connector.identity.canon import CanonicalizationError, canonicalize
from connector.identity.contexts import (
    CREDENTIALS_V2,
    DID_V1,
    SENTINEL_VOCAB,
    SigningContextLoader,
    canonicalize_document,
    default_loader,
    expand_safe,
)
from connector.jsonld import UnknownContextError
from connector.jsonld.loader import contexts_dir

from .conftest import SKIP_REASON, has_shared, load_json, reference_context, requires_shared, w3c_dir

DI_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DSPACE = "https://w3id.org/dspace/2025/1/context.jsonld"
EDC = "https://w3id.org/edc/v0.0.1"


def vc(**extra) -> dict:
    return {"@context": [CREDENTIALS_V2], "id": "urn:uuid:0b6f3c2e-1d7a-4f0e-8f6b-3b9a2f1c4d5e",
            "type": ["VerifiableCredential"], "issuer": "did:web:issuer.example",
            "validFrom": "2025-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:web:subject.example", "name": "Subject"}, **extra}


def refused(document, code, *needles, **kwargs) -> CanonicalizationError:
    with pytest.raises(CanonicalizationError) as caught:
        expand_safe(document, **kwargs)
    assert caught.value.code == code, caught.value.reason
    for needle in needles:
        assert needle in caught.value.reason
    return caught.value


# --- the loader -------------------------------------------------------------------------

def test_loader_serves_our_contexts_and_three_bundled_w3c_ones():
    loader = default_loader()
    index = json.loads((contexts_dir() / "index.json").read_text())
    assert set(index) | {CREDENTIALS_V2, DID_V1, "https://www.w3.org/2018/credentials/v1"} == loader.iris
    assert {DI_V2, MULTIKEY_V1} <= loader.iris
    for url in ("https://www.w3.org/ns/credentials/examples/v2", "https://w3id.org/security/v2",
                "https://www.w3.org/ns/activitystreams", "https://evil.example/ctx"):
        with pytest.raises(UnknownContextError):
            loader(url)
    remote = loader(CREDENTIALS_V2)
    assert remote["documentUrl"] == CREDENTIALS_V2 and remote["document"]["@context"]["@protected"] is True
    remote["document"]["@context"]["id"] = "mutated"
    assert loader(CREDENTIALS_V2)["document"]["@context"]["id"] == "@id"  # private copies


@requires_shared
def test_bundled_w3c_contexts_equal_the_reference_copies_and_their_pins():
    import hashlib

    import rfc8785

    from connector.identity.contexts import W3C_CONTEXTS

    names = {CREDENTIALS_V2: "credentials-v2.jsonld", DID_V1: "did-v1.jsonld",
             "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld"}
    for url, pinned in W3C_CONTEXTS.items():
        reference = reference_context(names[url])
        assert json.loads(BUNDLED_CONTEXTS[url].read_text()) == reference
        assert hashlib.sha256(rfc8785.dumps(reference)).hexdigest() == pinned
    # and the file SOURCES.md pins by bytes is the one we compared against
    raw = (w3c_dir() / "contexts" / "credentials-v2.jsonld").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"


def test_extra_contexts_cannot_shadow_the_allowlist():
    with pytest.raises(ValueError, match="shadow"):
        SigningContextLoader({CREDENTIALS_V2: {"@context": {}}})
    with pytest.raises(ValueError, match="shadow"):
        SigningContextLoader({DSPACE: {"@context": {}}})


def test_no_served_context_can_drop_the_sentinel():
    """Safe mode relies on the sentinel @vocab surviving every context reset."""
    loader = default_loader()
    resets = 0

    def walk(value, where):
        nonlocal resets
        if isinstance(value, dict):
            for key, item in value.items():
                assert not (key == "@vocab" and item is None), where
                if key == "@context" and isinstance(item, list) and None in item:
                    resets += 1
                    after = item[item.index(None) + 1]
                    assert after == {"@vocab": SENTINEL_VOCAB}, where
                assert not (key == "@context" and item is None), where
                walk(item, f"{where}/{key}")
        elif isinstance(value, list):
            for item in value:
                walk(item, where)

    for url in loader.iris:
        walk(loader.document(url), url)
    assert resets >= 1  # credentials v2 resets on verifiableCredential


# --- our Data Integrity v2 and Multikey v1 contexts ------------------------------------------

OURS = {DI_V2: "data-integrity-v2.jsonld", MULTIKEY_V1: "multikey-v1.jsonld"}


def test_our_security_contexts_are_indexed_and_not_copies():
    index = json.loads((contexts_dir() / "index.json").read_text())
    for url, name in OURS.items():
        assert index[url] == name
        if has_shared():
            assert (contexts_dir() / name).read_bytes() != (w3c_dir() / "contexts" / name).read_bytes()


@requires_shared
@pytest.mark.parametrize("url", sorted(OURS))
def test_our_security_contexts_define_exactly_the_reference_terms(url):
    ours = json.loads((contexts_dir() / OURS[url]).read_text())
    assert ours == reference_context(OURS[url])  # same definitions, our own layout


def _plain_expand(document: dict, documents: dict) -> list:
    def load(url, options=None):
        if url not in documents:
            raise LookupError(url)
        return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
                "document": copy.deepcopy(documents[url])}

    return jsonld.expand(document, {"base": None, "documentLoader": load,
                                    "contextResolver": ContextResolver(LRUCache(16), load)})


SECURITY_SAMPLES = [
    {"@context": [DSPACE, DI_V2], "@id": "urn:uuid:5a1f", "@type": "Catalog",
     "proof": {"id": "urn:uuid:p1", "type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
               "created": "2025-01-01T00:00:00Z", "expires": "2026-01-01T00:00:00Z",
               "verificationMethod": "did:web:a.example#k", "proofPurpose": "assertionMethod",
               "previousProof": "urn:uuid:p0", "domain": "d.example", "challenge": "c", "nonce": "n",
               "proofValue": "z3FXQ"}},
    {"@context": [DI_V2], "id": "urn:x", "proof": [
        {"type": "DataIntegrityProof", "proofPurpose": purpose, "verificationMethod": "did:x:1#k"}
        for purpose in ("authentication", "capabilityInvocation", "capabilityDelegation", "keyAgreement")]},
    {"@context": [DID_V1, MULTIKEY_V1], "id": "did:web:a.example", "verificationMethod": [
        {"id": "did:web:a.example#k1", "type": "Multikey", "controller": "did:web:a.example",
         "publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
         "secretKeyMultibase": "z3u2", "expires": "2030-01-01T00:00:00Z", "revoked": "2029-01-01T00:00:00Z"}],
     "assertionMethod": ["did:web:a.example#k1"]},
    {"@context": [CREDENTIALS_V2, DI_V2], **{k: v for k, v in vc().items() if k != "@context"},
     "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "proofPurpose": "assertionMethod",
               "verificationMethod": "did:x:1#k", "created": "2025-01-01T00:00:00Z", "proofValue": "z1"}},
]


@requires_shared
@pytest.mark.parametrize("index", range(len(SECURITY_SAMPLES)))
def test_our_security_contexts_expand_like_the_reference(index):
    sample = SECURITY_SAMPLES[index]
    served = {url: default_loader().document(url) for url in (DSPACE, DID_V1, CREDENTIALS_V2)}
    ours = {**served, **{url: json.loads((contexts_dir() / name).read_text()) for url, name in OURS.items()}}
    reference = {**served, **{url: reference_context(name) for url, name in OURS.items()}}
    expanded = _plain_expand(sample, ours)
    assert expanded == _plain_expand(sample, reference)
    assert expand_safe(sample) == expanded  # and safe mode accepts them, unchanged


# --- context policy -----------------------------------------------------------------------

def test_unknown_context_is_refused_by_name():
    refused({**vc(), "@context": [CREDENTIALS_V2, "https://www.w3.org/ns/credentials/examples/v2"]},
            "unknown_context", "examples/v2")


def test_inline_and_nested_contexts_are_refused_by_default():
    refused({**vc(), "@context": [CREDENTIALS_V2, {"ex": "https://ex.example/"}]}, "inline_context")
    refused(vc(credentialSubject={"@context": {"@vocab": "https://ex.example/"}, "id": "did:x:1"}),
            "inline_context", "nested")
    allowed = expand_safe({**vc(), "@context": [CREDENTIALS_V2, {"ex": "https://ex.example/"}]}, allow_inline=True)
    assert allowed


@pytest.mark.parametrize("ctx, needle", [
    ({"@vocab": None}, "@vocab"),
    ({"@import": CREDENTIALS_V2}, "@import"),
    ({"t": {"@id": "https://ex.example/t", "@context": None}}, "null @context"),
])
def test_inline_contexts_may_not_undo_the_guard(ctx, needle):
    refused({**vc(), "@context": [CREDENTIALS_V2, ctx]}, "inline_context", needle, allow_inline=True)


def test_non_json_documents_are_refused():
    refused(vc(credentialSubject={"id": "did:x:1", "name": float("nan")}), "invalid_document")
    with pytest.raises(CanonicalizationError):
        expand_safe(["not", "an", "object"])  # type: ignore[arg-type]


# --- safe mode ------------------------------------------------------------------------------

def test_undefined_terms_are_named():
    refused(vc(colour="red"), "undefined_term", "'colour'")
    refused(vc(credentialSubject={"id": "did:x:1", "shoeSize": 42}), "undefined_term", "'shoeSize'")
    refused({**vc(), "type": ["VerifiableCredential", "PcfCredential"]}, "undefined_term", "'PcfCredential'")
    refused({"@context": [DID_V1], "id": "did:web:a.example", "service": [
        {"id": "did:web:a.example#s", "type": "CredentialService", "serviceEndpoint": "https://a.example",
         "priority": 1}]}, "undefined_term", "'priority'")
    refused({"@context": [DSPACE], "@type": "CatalogRequestMessage", "filter": [], "sneaky": "x"},
            "undefined_term", "'sneaky'")


def test_vocab_contexts_define_everything():
    assert expand_safe({"@context": [EDC], "@type": "Asset", "anything": "goes"})


def test_undefined_term_inside_an_embedded_credential_after_a_context_reset():
    inner = {**vc(), "credentialSubject": {"id": "did:x:1", "secret": "x"}}
    vp = {"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"], "verifiableCredential": [inner]}
    refused(vp, "undefined_term", "'secret'", allow_inline=True)
    del inner["@context"]  # without its own context every key of the embedded credential is undefined
    refused(vp, "undefined_term", allow_inline=True)
    inner.update({"@context": [CREDENTIALS_V2], "credentialSubject": {"id": "did:x:1"}})
    assert expand_safe(vp, allow_inline=True)


@pytest.mark.parametrize("document, needle", [
    (vc(id="relative/credential"), "'relative/credential' as @id"),
    (vc(issuer="issuer-7"), "'issuer-7'"),
    ({**vc(), "credentialSubject": {"id": "#me"}}, "'#me'"),
    ({"@context": [DSPACE], "@id": "catalog-1", "@type": "Catalog"}, "'catalog-1'"),
])
def test_relative_iris_are_named(document, needle):
    refused(document, "relative_iri", needle)


def test_direction_is_refused():
    refused(vc(name={"@value": "مرحبا", "@language": "ar", "@direction": "rtl"}), "unsupported_feature", "@direction")


def test_explicit_full_iris_need_no_context():
    assert expand_safe({"@id": "urn:x", "https://schema.org/name": "x", "@type": "https://schema.org/Thing"})


# --- expanded form -> dataset, against pyld's own toRDF ------------------------------------

INLINE = {"@vocab": "https://ex.example/", "ex": "https://ex.example/", "xsd": "http://www.w3.org/2001/XMLSchema#",
          "list": {"@id": "ex:list", "@container": "@list"}, "ref": {"@id": "ex:ref", "@type": "@id"},
          "g": {"@id": "ex:g", "@container": "@graph"}, "rev": {"@reverse": "ex:child"},
          "js": {"@id": "ex:js", "@type": "@json"}, "dbl": {"@id": "ex:dbl", "@type": "xsd:double"},
          "date": {"@id": "ex:date", "@type": "xsd:date"}, "tags": {"@id": "ex:tags", "@container": "@language"},
          "idx": {"@id": "ex:idx", "@container": "@index"}}
SYNTHETIC = [
    {"@context": INLINE, "@id": "urn:a", "list": [1, [2, 3], [], {"@id": "urn:b", "name": "b"}, {"name": "anon"}],
     "empty": {"@list": []}},
    {"@context": INLINE, "@id": "urn:a", "n": [0, -7, 1.0, 2.5, 1e21, 12345678901234567890123, 1e-7, True, False],
     "dbl": ["3", 4, 5.5, "not-a-number"], "date": "2025-01-01", "js": {"b": [1, {"a": None}], "a": 1.0}},
    {"@context": INLINE, "@id": "_:x", "knows": {"@id": "_:y", "knows": {"@id": "_:x"}},
     "@type": ["Thing", "_:localType"], "ref": ["urn:r", "_:y"]},
    {"@context": INLINE, "@graph": [{"@id": "urn:n1", "name": "one"}, {"@id": "urn:n1", "name": "one", "age": 3}]},
    {"@context": INLINE, "@id": "urn:named", "@graph": [{"@id": "urn:in", "p": "v"}], "label": "outer",
     "g": [{"@id": "urn:g1", "name": "graph-in-graph"}, {"name": "anonymous graph"}]},
    {"@context": INLINE, "@id": "urn:parent", "rev": [{"@id": "urn:kid", "name": "k"}, {"name": "anon kid"}],
     "@included": [{"@id": "urn:inc", "name": "included"}]},
    {"@context": INLINE, "@id": "urn:l", "tags": {"en": "hello", "de-DE": ["hallo", "servus"]},
     "idx": {"a": {"@id": "urn:i1"}, "b": "literal"}, "txt": {"@value": "x", "@language": "EN-gb"},
     "ws": "tab\tnewline\nquote\"backslash\\"},
]


def _pyld_canonical(document: dict, loader) -> str:
    def load(url, options=None):
        return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
                "document": loader.document(url)}

    return jsonld.normalize(document, {"algorithm": "URDNA2015", "format": "application/n-quads", "base": None,
                                       "documentLoader": load,
                                       "contextResolver": ContextResolver(LRUCache(16), load)})


@pytest.mark.parametrize("index", range(len(SYNTHETIC)))
def test_dataset_matches_pyld_to_rdf_on_synthetic_documents(index):
    document = SYNTHETIC[index]
    ours = canonicalize_document(document, allow_inline=True)
    assert ours == _pyld_canonical(document, default_loader())
    assert ours  # not vacuous


def _corpus() -> list:
    if not has_shared():
        return [pytest.param(None, id="no-shared", marks=pytest.mark.skip(reason=SKIP_REASON))]
    root = w3c_dir().parent
    paths = sorted((root / "dsp" / "2025-1").rglob("example/*.json"))
    paths += sorted((w3c_dir() / "vc-di-eddsa" / "TestVectors").rglob("*.json"))
    return [pytest.param(p, id=str(p.relative_to(root))) for p in paths]


@pytest.mark.parametrize("path", _corpus())
def test_dataset_matches_pyld_to_rdf_on_reference_documents(path: Path, vector_loader):
    document = load_json(path)
    if not isinstance(document, dict) or "@context" not in document:
        pytest.skip("not a JSON-LD document")
    try:
        ours = canonicalize_document(document, vector_loader, allow_inline=True)
    except CanonicalizationError as exc:
        # documents safe mode refuses are fine here, as long as the refusal is a real one
        assert exc.code in {"undefined_term", "relative_iri", "unknown_context"}, exc.reason
        pytest.skip(f"refused by safe mode: {exc.reason}")
    assert ours == _pyld_canonical(document, vector_loader)


def test_canonical_output_escapes_like_rdfc10():
    document = {"@id": "urn:x", "https://ex.example/p": "bell\x07 vt\x0b ff\x0c del\x7f"}
    assert canonicalize_document(document) == '<urn:x> <https://ex.example/p> "bell\\u0007 vt\\u000B ff\\f del\\u007F" .\n'


def test_duplicate_statements_collapse():
    document = {"@context": [{"@vocab": "https://ex.example/"}], "@graph": [
        {"@id": "urn:a", "p": "v"}, {"@id": "urn:a", "p": "v"}]}
    assert canonicalize_document(document, allow_inline=True) == '<urn:a> <https://ex.example/p> "v" .\n'
    assert canonicalize(  # and the same dataset from N-Quads agrees
        __import__("connector.identity.canon", fromlist=["parse_nquads"]).parse_nquads(
            '<urn:a> <https://ex.example/p> "v" .\n' * 2)) == '<urn:a> <https://ex.example/p> "v" .\n'


@pytest.mark.parametrize("document", [
    {"@context": [CREDENTIALS_V2], "id": 5},
    {"@context": [CREDENTIALS_V2], "type": {"not": "a type"}},
    {"@context": [CREDENTIALS_V2], "@value": "free", "@id": "urn:x"},
], ids=["numeric-id", "object-type", "value-with-id"])
def test_malformed_json_ld_fails_closed(document):
    refused(document, "invalid_jsonld", "JSON-LD expansion failed")


def test_absurdly_deep_documents_fail_closed():
    document = {"@id": "urn:x", "https://ex.example/p": {}}
    inner = document["https://ex.example/p"]
    for _ in range(5000):
        inner["https://ex.example/p"] = {}
        inner = inner["https://ex.example/p"]
    with pytest.raises(CanonicalizationError):
        expand_safe(document)


def test_canonical_double_matches_pyld():
    import random

    from pyld.jsonld import _canonicalize_double

    from connector.identity.contexts import canonical_double

    rng = random.Random(7)
    samples = [0.1, -0.5, 2.5, 1e-7, 1.5e21, 1e100, -1e-300, 5e-324, 1.7976931348623157e308, 1 / 3, 123456.789]
    samples += [rng.uniform(-1e6, 1e6) for _ in range(2000)] + [rng.random() * 10 ** rng.randint(-300, 300)
                                                                 for _ in range(2000)]
    for value in samples:
        assert canonical_double(value) == _canonicalize_double(value), value
