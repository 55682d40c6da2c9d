"""Shared helpers for the JSON-LD tests: reference paths, skip markers, official loaders.

The "official" loaders serve the upstream context files from ../shared/reference
so that every comparison is ours-versus-upstream; they get a private pyld
resolver cache so nothing they load can leak into (or out of) our pipeline.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from cachetools import LRUCache
from pyld import jsonld
from pyld.context_resolver import ContextResolver

REPO_ROOT = Path(__file__).resolve().parents[2]

# The package is not installed into the venv and pyproject sets no pythonpath,
# so make `connector` importable when pytest is started from anywhere.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DSPACE_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
DSPACE_ODRL = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"
EDC_CONTEXT = "https://w3id.org/edc/v0.0.1"
TX_AUTH_CONTEXT = "https://w3id.org/tractusx/auth/v1.0.0"
CX_CONTEXT = "https://w3id.org/catenax/2025/9/policy/context.jsonld"
CX_ODRL = "https://w3id.org/catenax/2025/9/policy/odrl.jsonld"

SKIP_REASON = "reference material not found: ../shared (sibling of the repository) is absent"


def shared_dir() -> Path:
    """``<repo>/../shared``, where the read-only reference material lives."""
    return (REPO_ROOT / ".." / "shared").resolve()


def reference_dir() -> Path:
    return shared_dir() / "reference"


def has_shared() -> bool:
    return reference_dir().is_dir()


requires_shared = pytest.mark.skipif(not has_shared(), reason=SKIP_REASON)

# Upstream context files, by the IRI each is published under.
_DSP = Path("dsp/2025-1/context")
_TX = Path("catenax/tractusx-edc/core")
_CXP = Path("catenax/cx-odrl-profile/schema/context")
OFFICIAL_DSP = {DSPACE_CONTEXT: _DSP / "dspace.jsonld", DSPACE_ODRL: _DSP / "odrl.jsonld"}
OFFICIAL_EDC = {
    **OFFICIAL_DSP,
    EDC_CONTEXT: _TX / "json-ld-core/src/main/resources/document/edc-v1.jsonld",
    TX_AUTH_CONTEXT: _TX / "json-ld-core/src/main/resources/document/tx-auth-v1.jsonld",
}
# Two upstream versions of the Catena-X policy context exist (see test_contexts.py).
OFFICIAL_CX_PROFILE = {CX_ODRL: _CXP / "odrl.jsonld", CX_CONTEXT: _CXP / "context.jsonld"}
OFFICIAL_CX_TRACTUSX = {
    CX_ODRL: _TX / "json-ld-cx/src/main/resources/document/cx-odrl.jsonld",
    CX_CONTEXT: _TX / "json-ld-cx/src/main/resources/document/cx-policy-v1.jsonld",
}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def cx_union_context() -> dict:
    """Both upstream Catena-X policy contexts merged, without the profile's bogus ``odrl`` term."""
    tractusx = load_json(reference_dir() / OFFICIAL_CX_TRACTUSX[CX_CONTEXT])["@context"]
    profile = load_json(reference_dir() / OFFICIAL_CX_PROFILE[CX_CONTEXT])["@context"]
    merged = {**tractusx, **{k: v for k, v in profile.items() if k != "odrl"}}
    return {"@context": merged}


class OfficialLoader:
    """Serves upstream context files (or documents built from them) by IRI; nothing else."""

    def __init__(self, mapping: dict[str, Path | dict]) -> None:
        self.mapping = mapping

    def __call__(self, url: str, options: dict | None = None) -> dict:
        if url not in self.mapping:
            raise LookupError(f"official test loader does not serve {url}")
        source = self.mapping[url]
        document = copy.deepcopy(source) if isinstance(source, dict) else load_json(reference_dir() / source)
        return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": document}


class Harness:
    """Plain pyld around any loader, with a private resolver cache per call."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def options(self) -> dict:
        return {
            "base": None,
            "documentLoader": self.loader,
            "contextResolver": ContextResolver(LRUCache(maxsize=100), self.loader),
        }

    def expand(self, doc: Any) -> list:
        return jsonld.expand(doc, self.options())

    def signature(self, ctx: Any) -> dict:
        """A comparable picture of the active context pyld builds from ``ctx``.

        Scoped contexts are processed too (one level deep: deeper levels only
        repeat definitions already compared at the level above), each with a
        fresh resolver: pyld 3.3.0 caches ``@import`` merges per active context,
        so two scoped contexts importing the same IRI would corrupt each other.
        """
        proc = jsonld.JsonLdProcessor()
        initial = proc._get_initial_context({"processingMode": "json-ld-1.1"})
        active = proc._process_context(initial, ctx, self.options())
        return _signature(proc, active, self.options, depth=0)


def official(mapping: dict[str, Path | dict]) -> Harness:
    return Harness(OfficialLoader(mapping))


def _signature(proc: Any, active: Any, fresh_options: Any, depth: int) -> dict:
    out: dict = {k: v for k, v in active.items() if k != "mappings" and not k.startswith("_")}
    out.pop("previousContext", None)
    terms = {}
    for term, definition in active["mappings"].items():
        if definition is None:
            terms[term] = None
            continue
        entry = {k: v for k, v in definition.items() if k != "@context"}
        if "@context" in definition:
            if depth == 0:
                scoped = proc._process_context(
                    active, definition["@context"], fresh_options(), override_protected=True
                )
                entry["@context"] = _signature(proc, scoped, fresh_options, depth + 1)
            else:
                entry["@context"] = "<scoped>"
        terms[term] = entry
    out["mappings"] = terms
    return out


def reference_params(paths: Iterable[Path], root: Path | None = None) -> list:
    """pytest params named by path; a single skipped param when ../shared is absent."""
    if not has_shared():
        return [pytest.param(None, id="no-shared", marks=pytest.mark.skip(reason=SKIP_REASON))]
    root = root or reference_dir()
    return [pytest.param(p, id=str(p.relative_to(root))) for p in sorted(paths)]


def iris_in(expanded: Any) -> set[str]:
    """Every property IRI, @type and @id found in an expanded document."""
    found: set[str] = set()
    if isinstance(expanded, list):
        for item in expanded:
            found |= iris_in(item)
    elif isinstance(expanded, dict):
        for key, value in expanded.items():
            if not key.startswith("@"):
                found.add(key)
            if key in ("@type", "@id"):
                found |= set(value if isinstance(value, list) else [value])
            found |= iris_in(value)
    return found
