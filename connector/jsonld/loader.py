"""A pyld document loader that serves only our bundled contexts.

The contexts live in ``schemas/contexts/`` and ``index.json`` there maps each
context IRI to its file; that index is the single source of truth.  Any other
URL is refused with :class:`UnknownContextError`: a connector that fetched
contexts named by its peers would let a remote party redefine the meaning of
the messages it receives (and would make every request depend on w3id.org).

``@import`` is resolved here, once, instead of by pyld: pyld 3.3.0 merges the
importing context *into its cached copy* of the imported one and caches that
merge per active context, so two type-scoped contexts importing the same IRI
(``ContractRequestMessage`` and ``Dataset`` in the DSP context) overwrite each
other and a later expansion silently drops most properties.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from .errors import JsonLdError, UnknownContextError

SCHEMAS_DIR_ENV = "PONTIS_SCHEMAS_DIR"
INDEX_FILE = "index.json"
CONTENT_TYPE = "application/ld+json"


def schemas_dir() -> Path:
    """The ``schemas/`` folder: ``$PONTIS_SCHEMAS_DIR`` or the one in the repository."""
    override = os.environ.get(SCHEMAS_DIR_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "schemas"


def contexts_dir() -> Path:
    """The folder holding ``index.json`` and the context documents."""
    return schemas_dir() / "contexts"


class ContextLoader:
    """Callable ``(url, options) -> RemoteDocument`` for pyld's ``documentLoader``.

    All documents are read and parsed once, when the loader is built, so a
    broken file fails at start-up rather than on some later request.
    """

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else contexts_dir()
        raw = {iri: self._read(iri, name) for iri, name in self._read_index().items()}
        self._documents: dict[str, dict[str, Any]] = {
            iri: {**doc, "@context": _inline_imports(doc["@context"], raw, iri)}
            for iri, doc in raw.items()
        }

    @property
    def iris(self) -> frozenset[str]:
        """The context IRIs this loader serves."""
        return frozenset(self._documents)

    def document(self, iri: str) -> dict[str, Any]:
        """A private copy of the context document for ``iri``.

        A deep copy, because pyld rewrites context URLs inside the documents
        it is given and must never alter our cached originals.
        """
        try:
            original = self._documents[iri]
        except (KeyError, TypeError):
            raise UnknownContextError(iri) from None
        return copy.deepcopy(original)

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        # `options` is part of pyld's loader signature; headers and profiles
        # in it are irrelevant because nothing is ever fetched.
        return {
            "contentType": CONTENT_TYPE,
            "contextUrl": None,
            "documentUrl": url,
            "document": self.document(url),
        }

    def __repr__(self) -> str:
        return f"ContextLoader({str(self.directory)!r}, {len(self._documents)} contexts)"

    def _read_index(self) -> dict[str, str]:
        path = self.directory / INDEX_FILE
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise JsonLdError(f"cannot read context index {path}: {exc}") from exc
        if not isinstance(index, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in index.items()
        ):
            raise JsonLdError(f"context index {path} must map IRI strings to file names")
        return index

    def _read(self, iri: str, name: str) -> dict[str, Any]:
        # Plain file names only: the index must not reach outside its folder.
        if Path(name).name != name or name in {".", ".."}:
            raise JsonLdError(f"context index entry for {iri!r} is not a plain file name: {name!r}")
        path = self.directory / name
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise JsonLdError(f"cannot read context {iri!r} from {path}: {exc}") from exc
        if not isinstance(document, dict) or "@context" not in document:
            raise JsonLdError(f"context file {path} has no top-level @context object")
        return document


def _inline_imports(ctx: Any, served: Mapping[str, dict], where: str) -> Any:
    """Replace every ``@import`` in a context (and its scoped contexts) by the merge
    JSON-LD 1.1 defines: the imported context's entries, overridden by the local ones.
    """
    if isinstance(ctx, list):
        return [_inline_imports(item, served, where) for item in ctx]
    if not isinstance(ctx, dict):
        return ctx
    local = {
        term: (
            {**d, "@context": _inline_imports(d["@context"], served, where)}
            if isinstance(d, dict) and "@context" in d
            else d
        )
        for term, d in ctx.items()
        if term != "@import"
    }
    if "@import" not in ctx:
        return local
    iri = ctx["@import"]
    imported = served.get(iri, {}).get("@context") if isinstance(iri, str) else None
    if not isinstance(imported, dict):
        raise JsonLdError(f"context {where!r} imports {iri!r}, which is not a served context object")
    if "@import" in imported:  # forbidden by JSON-LD 1.1, and it would recurse
        raise JsonLdError(f"context {iri!r} imported by {where!r} must not itself use @import")
    return {**copy.deepcopy(imported), **local}


T = TypeVar("T")


class once(Generic[T]):  # noqa: N801 - used as a decorator, like functools.cache
    """A process-wide value built on first use, by exactly one caller: concurrent first callers
    wait for it and all get the same object (``functools.lru_cache`` would let each build its
    own and hand back copies nobody else holds). ``cache_clear()`` forgets it."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()
        functools.update_wrapper(self, factory)

    def __call__(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
                value = self._value
        return value

    def cache_clear(self) -> None:
        with self._lock:
            self._value = None


@once
def get_loader() -> ContextLoader:
    """The process-wide loader (built on first use; reads ``$PONTIS_SCHEMAS_DIR`` then)."""
    return ContextLoader()


def load_document(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Module-level pyld ``documentLoader`` backed by :func:`get_loader`."""
    return get_loader()(url, options)
