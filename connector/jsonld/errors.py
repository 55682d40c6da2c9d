"""Errors raised at the JSON-LD edge.

Both derive from ValueError so that request handlers which already map
ValueError to HTTP 400 treat bad JSON-LD as a client error.
"""

from __future__ import annotations


class JsonLdError(ValueError):
    """A document could not be expanded or compacted."""


class UnknownContextError(JsonLdError):
    """A document referenced a context IRI that we do not serve locally."""

    def __init__(self, iri: str) -> None:
        super().__init__(f"unknown JSON-LD context {iri!r}: only locally bundled contexts are served")
        self.iri = iri
