"""expand/compact: base None, @context arrays, error messages, and the context cache."""

from __future__ import annotations

import copy
import json

import pytest
from pyld import jsonld

from connector.jsonld import ContextLoader, JsonLdError, UnknownContextError, compact, expand, get_loader
from connector.jsonld.terms import DCT, DSPACE_NS, ODRL_NS

from .conftest import DSPACE_CONTEXT, DSPACE_ODRL

TRANSFER_REQUEST = {
    "@context": [DSPACE_CONTEXT],
    "@type": "TransferRequestMessage",
    "consumerPid": "urn:uuid:c1",
    "agreementId": "urn:uuid:a1",
    "format": "HttpData-PULL",
    "callbackAddress": "https://consumer.example.com/callback",
}
CONTRACT_REQUEST = {
    "@context": [DSPACE_CONTEXT],
    "@type": "ContractRequestMessage",
    "consumerPid": "urn:uuid:c1",
    "offer": {
        "@type": "Offer",
        "@id": "urn:uuid:o1",
        "target": "urn:uuid:asset1",
        "permission": [
            {"action": "use", "constraint": [{"leftOperand": "notATerm", "operator": "eq", "rightOperand": "x"}]}
        ],
    },
}
ODRL_OFFER = {"@context": [DSPACE_ODRL], "@type": "Offer", "@id": "urn:o", "target": "urn:asset"}


def _first(expanded: list, *path: str):
    node = expanded[0]
    for key in path:
        node = node[key][0]
    return node


def test_undefined_vocab_values_stay_unresolved():
    expanded = expand(copy.deepcopy(TRANSFER_REQUEST))
    assert _first(expanded, DCT + "format") == {"@id": "HttpData-PULL"}
    expanded = expand(copy.deepcopy(CONTRACT_REQUEST))
    constraint = _first(expanded, DSPACE_NS + "offer", ODRL_NS + "permission", ODRL_NS + "constraint")
    assert constraint[ODRL_NS + "leftOperand"] == [{"@id": "notATerm"}]
    assert "example.org" not in json.dumps(expanded)


def test_control_pyld_default_base_would_resolve_them():
    """Shows the test above is meaningful: without base None pyld invents IRIs."""
    expanded = jsonld.expand(copy.deepcopy(TRANSFER_REQUEST), {"documentLoader": get_loader()})
    assert "http://example.org/base/HttpData-PULL" in json.dumps(expanded)


def test_compaction_restores_unresolved_values():
    out = compact(expand(copy.deepcopy(TRANSFER_REQUEST)), [DSPACE_CONTEXT], expanded=True)
    assert out == TRANSFER_REQUEST


@pytest.mark.parametrize(
    "context, expected",
    [
        ([DSPACE_CONTEXT], [DSPACE_CONTEXT]),
        ({"@context": [DSPACE_CONTEXT]}, [DSPACE_CONTEXT]),
        (DSPACE_CONTEXT, DSPACE_CONTEXT),
    ],
    ids=["list", "wrapped-list", "string"],
)
def test_context_array_is_kept(context, expected):
    out = compact(copy.deepcopy(TRANSFER_REQUEST), context)
    assert out["@context"] == expected
    assert next(iter(out)) == "@context"
    assert out["format"] == "HttpData-PULL"


@pytest.mark.parametrize(
    "doc, fragment",
    [
        ({"@context": {"@version": 2.0}, "a": 1}, "version"),
        ({"@context": 5, "a": 1}, "invalid local context"),
        ({"@context": [DSPACE_CONTEXT, {"dspace": "http://evil.example/"}], "@type": "x"}, "protected term redefinition"),
    ],
    ids=["bad-version", "bad-context", "protected"],
)
def test_errors_name_the_problem(doc, fragment):
    with pytest.raises(JsonLdError) as err:
        expand(doc)
    assert fragment in str(err.value)
    assert not isinstance(err.value, UnknownContextError)
    assert isinstance(err.value.__cause__, jsonld.JsonLdError)


@pytest.mark.parametrize("doc", ["https://example.com/doc.jsonld", 42, None])
def test_only_objects_and_arrays_are_processed(doc):
    with pytest.raises(JsonLdError, match="object or an array"):
        expand(doc)
    with pytest.raises(JsonLdError, match="object or an array"):
        compact(doc, [DSPACE_CONTEXT])


def test_unknown_context_surfaces_through_compaction():
    with pytest.raises(UnknownContextError) as err:
        compact(copy.deepcopy(TRANSFER_REQUEST), ["https://example.com/other.jsonld"])
    assert err.value.iri == "https://example.com/other.jsonld"
    with pytest.raises(UnknownContextError) as err:
        compact({"@context": "https://example.com/in-doc.jsonld", "a": 1}, [DSPACE_CONTEXT])
    assert err.value.iri == "https://example.com/in-doc.jsonld"


class CountingLoader(ContextLoader):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []

    def __call__(self, url, options=None):
        self.calls.append(url)
        return super().__call__(url, options)


def test_contexts_are_loaded_once_per_loader():
    loader = CountingLoader()
    first = expand(copy.deepcopy(CONTRACT_REQUEST), loader=loader)
    assert loader.calls == [DSPACE_CONTEXT]
    for _ in range(3):
        assert expand(copy.deepcopy(CONTRACT_REQUEST), loader=loader) == first
        compact(first, [DSPACE_CONTEXT], expanded=True, loader=loader)
    assert loader.calls == [DSPACE_CONTEXT]


def test_caches_are_private(tmp_path):
    """Contexts cached for one loader are invisible to another and to plain pyld."""
    directory = tmp_path / "contexts"
    directory.mkdir()
    (directory / "index.json").write_text(json.dumps({"urn:test:ctx": "t.jsonld"}))
    (directory / "t.jsonld").write_text(json.dumps({"@context": {"t": "urn:t:"}}))
    doc = {"@context": "urn:test:ctx", "t": "v"}
    assert expand(doc, loader=ContextLoader(directory)) == [{"urn:t:": [{"@value": "v"}]}]
    with pytest.raises(UnknownContextError):
        expand(doc)
    expand(copy.deepcopy(CONTRACT_REQUEST))
    assert DSPACE_CONTEXT not in jsonld._resolved_context_cache
    assert "urn:test:ctx" not in jsonld._resolved_context_cache


def test_peer_import_cannot_poison_the_cache():
    """pyld merges an importing context into its cached copy of the imported one;
    such documents must not change how later documents expand."""
    before = expand(copy.deepcopy(ODRL_OFFER))
    poison = {
        "@context": {"@import": DSPACE_ODRL, "target": {"@id": "http://evil.example/target", "@type": "@id"}},
        "@type": "Offer",
        "target": "urn:asset",
    }
    assert ODRL_NS + "target" not in expand(poison)[0]  # the local override applied...
    assert expand(copy.deepcopy(ODRL_OFFER)) == before  # ...only to that document
    assert before[0][ODRL_NS + "target"] == [{"@id": "urn:asset"}]


def test_only_our_own_scoped_contexts_are_memoised():
    """White-box: the identity memo must not collect contexts from peer documents."""
    from connector.jsonld import processing

    expand(copy.deepcopy(CONTRACT_REQUEST))
    own = processing._pipeline(processing.get_loader()).own
    before = len(own)
    assert before > 0, "our scoped contexts should be memoised"
    for i in range(5):
        peer = {"@context": {"T": {"@id": "urn:T", "@context": {"x": f"urn:x{i}"}}}, "@type": "T", "x": 1}
        assert expand(peer) == [{"@type": ["urn:T"], f"urn:x{i}": [{"@value": 1}]}]
    assert len(own) == before


def test_concurrent_use_gives_the_same_results():
    from concurrent.futures import ThreadPoolExecutor

    from connector.jsonld import clear_cache

    docs = [TRANSFER_REQUEST, CONTRACT_REQUEST, ODRL_OFFER]
    expected = [expand(copy.deepcopy(d)) for d in docs]
    clear_cache()  # start cold so that threads race to fill the caches
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: expand(copy.deepcopy(docs[i % 3])) == expected[i % 3], range(600)))
    assert all(results)
