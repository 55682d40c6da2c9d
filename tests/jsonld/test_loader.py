"""The document loader: serves only indexed contexts, never the network."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from connector.jsonld import ContextLoader, JsonLdError, UnknownContextError, expand, get_loader
from connector.jsonld.loader import SCHEMAS_DIR_ENV, schemas_dir

from .conftest import DSPACE_CONTEXT, DSPACE_ODRL, REPO_ROOT

EVIL = "https://example.com/evil.jsonld"


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Make every way of opening a connection fail loudly, and record attempts."""
    attempts: list = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise NetworkUsed(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def _write_contexts(root: Path, index: dict, files: dict) -> Path:
    directory = root / "contexts"
    directory.mkdir(parents=True)
    (directory / "index.json").write_text(json.dumps(index), encoding="utf-8")
    for name, document in files.items():
        (directory / name).write_text(json.dumps(document), encoding="utf-8")
    return directory


def test_the_network_guard_works(no_network):
    with socket.socket() as sock, pytest.raises(NetworkUsed):
        sock.connect(("127.0.0.1", 9))
    assert no_network


def test_refuses_unknown_url_by_name_without_network(no_network):
    with pytest.raises(UnknownContextError) as err:
        get_loader()(EVIL, {})
    assert err.value.iri == EVIL
    assert EVIL in str(err.value)
    assert isinstance(err.value, JsonLdError) and isinstance(err.value, ValueError)
    assert no_network == []


@pytest.mark.parametrize(
    "doc",
    [
        {"@context": EVIL, "name": "x"},
        {"@context": [DSPACE_CONTEXT, EVIL], "@type": "CatalogRequestMessage"},
        {"@context": {"x": {"@id": "urn:x", "@context": EVIL}}, "x": {"y": 1}},
    ],
    ids=["top-level", "in-array", "scoped"],
)
def test_expansion_refuses_unknown_context_without_network(no_network, doc):
    with pytest.raises(UnknownContextError) as err:
        expand(doc)
    assert err.value.iri == EVIL
    assert no_network == []


def test_serves_every_indexed_context_without_network(no_network):
    loader = get_loader()
    assert {DSPACE_CONTEXT, DSPACE_ODRL} <= loader.iris
    for iri in loader.iris:
        remote = loader(iri, {})
        assert remote["documentUrl"] == iri and remote["contextUrl"] is None
        assert isinstance(remote["document"]["@context"], dict)
    assert no_network == []


def test_returns_a_fresh_copy_each_time():
    loader = get_loader()
    first = loader(DSPACE_CONTEXT)["document"]
    first["@context"]["dspace"] = "http://tampered.example/"
    first["@context"]["Catalog"]["@context"]["dataset"]["@id"] = "tampered"
    again = loader(DSPACE_CONTEXT)["document"]["@context"]
    assert again["dspace"] == "https://w3id.org/dspace/2025/1/"
    assert again["Catalog"]["@context"]["dataset"]["@id"] == "dcat:dataset"


def test_served_contexts_avoid_pyld_pitfalls():
    """No @import reaches pyld (its @import cache bug) and no top-level @propagate
    (pyld 3.3.0 then indexes the context IRI string and raises TypeError)."""
    loader = get_loader()
    for iri in loader.iris:
        text = json.dumps(loader.document(iri))
        assert '"@import"' not in text, iri
        assert "@propagate" not in loader.document(iri)["@context"], iri


def test_dspace_import_is_inlined_with_local_terms_winning():
    dataset = get_loader().document(DSPACE_CONTEXT)["@context"]["Dataset"]["@context"]
    assert dataset["permission"]["@id"] == "odrl:permission"  # from the odrl profile
    assert dataset["hasPolicy"] == {"@id": "odrl:hasPolicy", "@container": "@set"}  # local wins


def test_default_location_and_env_override(monkeypatch, tmp_path):
    monkeypatch.delenv(SCHEMAS_DIR_ENV, raising=False)
    assert schemas_dir() == REPO_ROOT / "schemas"
    _write_contexts(tmp_path, {"urn:test:ctx": "t.jsonld"}, {"t.jsonld": {"@context": {"t": "urn:t:"}}})
    monkeypatch.setenv(SCHEMAS_DIR_ENV, str(tmp_path))
    assert schemas_dir() == tmp_path
    loader = ContextLoader()
    assert loader.iris == {"urn:test:ctx"}
    with pytest.raises(UnknownContextError):
        loader(DSPACE_CONTEXT)


def test_import_between_own_contexts_is_inlined(tmp_path):
    directory = _write_contexts(
        tmp_path,
        {"urn:base": "base.jsonld", "urn:main": "main.jsonld"},
        {
            "base.jsonld": {"@context": {"a": "urn:base:a", "b": "urn:base:b"}},
            "main.jsonld": {"@context": {"T": {"@id": "urn:T", "@context": {"@import": "urn:base", "b": "urn:main:b"}}}},
        },
    )
    scoped = ContextLoader(directory).document("urn:main")["@context"]["T"]["@context"]
    assert scoped == {"a": "urn:base:a", "b": "urn:main:b"}


@pytest.mark.parametrize(
    "index, files, fragment",
    [
        ({"urn:x": "../x.jsonld"}, {}, "not a plain file name"),
        ({"urn:x": "missing.jsonld"}, {}, "cannot read context"),
        ({"urn:x": "x.jsonld"}, {"x.jsonld": ["not", "an", "object"]}, "no top-level @context"),
        ({"urn:x": "x.jsonld"}, {"x.jsonld": {"@context": {"@import": "urn:nope"}}}, "urn:nope"),
        (["urn:x"], {}, "must map IRI strings"),
    ],
    ids=["traversal", "missing-file", "not-a-context", "unserved-import", "bad-index"],
)
def test_broken_context_folder_fails_at_construction(tmp_path, index, files, fragment):
    directory = _write_contexts(tmp_path, index, files)
    with pytest.raises(JsonLdError) as err:
        ContextLoader(directory)
    assert fragment in str(err.value)


def test_concurrent_first_use_builds_one_loader_and_every_request_succeeds(monkeypatch):
    """Issue 8: requests racing just after a (re)start got 400 "the document loader for this
    pipeline is gone" (lru_cache let each build its own loader, held by nobody)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from connector.jsonld import clear_cache

    built: list = []
    real_init = ContextLoader.__init__

    def slow_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.05)  # a cold start: every context file read and parsed
        real_init(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(ContextLoader, "__init__", slow_init)
    get_loader.cache_clear()
    clear_cache()
    barrier = threading.Barrier(8)

    def request(_: int) -> list:
        barrier.wait()
        return expand({"@context": [DSPACE_CONTEXT], "@type": "CatalogRequestMessage"})

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(request, range(8)))
    finally:
        get_loader.cache_clear()
    assert len(built) == 1
    assert all(r == results[0] for r in results) and results[0][0]["@type"]
