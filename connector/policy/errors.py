"""Errors raised by the policy package.

``PolicyError`` is a ``ValueError`` so that generic input-validation handlers
(which already map ``ValueError`` to a 400) treat a bad policy as bad input.
``PolicyFormatError`` carries *where* in the policy document the problem is, as
a readable field path like ``permission[0].constraint[1].and[0].operator``, so
the error body sent back to a peer or API user points at the offending field.
"""

from __future__ import annotations


class PolicyError(ValueError):
    """Base class for every policy problem (format, unsupported feature, ...)."""


class PolicyFormatError(PolicyError):
    """A policy document does not have the expected shape.

    ``path`` is the readable field path ("" for the policy object itself) and
    ``expected`` says what should have been there.
    """

    def __init__(self, path: str, expected: str) -> None:
        # Passing both to ValueError keeps ``args`` meaningful and the
        # exception picklable (pickle re-calls ``cls(*args)``).
        super().__init__(path, expected)
        self.path = path
        self.expected = expected

    def __str__(self) -> str:
        where = self.path or "(policy)"
        return f"{where}: {self.expected}"
