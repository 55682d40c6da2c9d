"""Shared helpers for the identity tests: reference paths, skip markers, the vector loader.

Reference material is read from ``<repo>/../shared`` and never copied into the project;
tests that need it skip with a reason when it is absent. The W3C credentials *examples*
context (used by the official vectors) is served here only, from the reference copy,
through a test-local :class:`SigningContextLoader` extension; the product never serves it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector.identity.contexts import SigningContextLoader

REPO_ROOT = Path(__file__).resolve().parents[2]
SKIP_REASON = "reference material not found: ../shared (sibling of the repository) is absent"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"


def shared_dir() -> Path:
    return (REPO_ROOT / ".." / "shared").resolve()


def w3c_dir() -> Path:
    return shared_dir() / "reference" / "w3c"


def vectors_dir() -> Path:
    return w3c_dir() / "vc-di-eddsa" / "TestVectors"


def rdf_canon_dir() -> Path:
    return w3c_dir() / "rdf-canon" / "tests"


def has_shared() -> bool:
    return w3c_dir().is_dir()


requires_shared = pytest.mark.skipif(not has_shared(), reason=SKIP_REASON)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def reference_context(name: str) -> dict:
    return load_json(w3c_dir() / "contexts" / name)


@pytest.fixture(scope="session")
def vector_loader() -> SigningContextLoader:
    """The product's allowlist plus the credentials examples v2 context, for the vectors only."""
    if not has_shared():
        pytest.skip(SKIP_REASON)
    return SigningContextLoader({EXAMPLES_V2: reference_context("credentials-examples-v2.jsonld")})


@pytest.fixture(scope="session")
def vector_key():
    from connector.identity.multikey import decode_secret_multikey

    if not has_shared():
        pytest.skip(SKIP_REASON)
    return decode_secret_multikey(load_json(vectors_dir() / "keyPair.json")["privateKeyMultibase"])


@pytest.fixture(autouse=True)
def cross_check_compiled_jsonld(monkeypatch: pytest.MonkeyPatch):
    """Every document signed or verified here also runs through the general path and pyld's toRdf,
    which must agree with the compiled walk (tests/identity/compiled_check.py)."""
    from .compiled_check import install

    return install(monkeypatch)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from .compiled_check import TOTALS, summary

    if TOTALS:
        terminalreporter.write_line(summary())
