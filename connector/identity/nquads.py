"""A linear, complete N-Quads parser into pyld-style datasets (pyld's is quadratic and does not
unescape ``\\u``): the input side of :mod:`.canon`, for tests and N-Quads given by users."""

from __future__ import annotations

import functools
import re
from typing import Any

from .canon import RDF_LANGSTRING, XSD_STRING, CanonicalizationError

_IRI = r"<((?:[^\x00-\x20<>\"{}|^`\\]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*)>"
_PN = r"A-Za-z0-9_\-\u00b7-\U000effff"  # PN_CHARS, generously: N-Quads input is ours or a test's
_BNODE = r"(_:[A-Za-z0-9_\u00c0-\U000effff](?:[" + _PN + r".]*[" + _PN + r"])?)"
_LITERAL = (r'"((?:[^"\\\n\r]|\\[tbnrf"\'\\]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*)"'
            r"(?:\^\^" + _IRI + r"|@([a-zA-Z]+(?:-[a-zA-Z0-9]+)*))?")
_LINE_PATTERN = (
    r"[ \t]*(?:" + _IRI + "|" + _BNODE + r")[ \t]*" + _IRI
    + r"[ \t]*(?:" + _IRI + "|" + _BNODE + "|" + _LITERAL + r")"
    + r"[ \t]*(?:(?:" + _IRI + "|" + _BNODE + r")[ \t]*)?\.[ \t]*(?:#.*)?")
_BLANK = re.compile(r"[ \t]*(?:#.*)?")
_UNESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_ECHAR_VALUES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text

    def one(match: re.Match) -> str:
        hex_ = match.group(1) or match.group(2)
        return chr(int(hex_, 16)) if hex_ else _ECHAR_VALUES[match.group(3)]

    return _UNESCAPE.sub(one, text)


@functools.lru_cache(maxsize=1)
def _line_regex() -> re.Pattern:
    return re.compile(_LINE_PATTERN)  # compiled on first use: ~50 ms, and only tests parse N-Quads


def parse_nquads(text: str) -> dict[str, list[dict[str, Any]]]:
    """Parse N-Quads into a pyld-style dataset (duplicates dropped). Linear time."""
    dataset: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple] = set()
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        match = _line_regex().fullmatch(line)
        if match is None:
            if _BLANK.fullmatch(line):
                continue
            raise CanonicalizationError(f"N-Quads line {number} is not a valid quad: {line[:120]!r}",
                                        code="nquads_syntax")
        (s_iri, s_bn, p_iri, o_iri, o_bn, o_lit, o_dt, o_lang, g_iri, g_bn) = match.groups()
        subject = {"type": "IRI", "value": _unescape(s_iri)} if s_iri is not None else {
            "type": "blank node", "value": s_bn}
        predicate = {"type": "IRI", "value": _unescape(p_iri)}
        if o_iri is not None:
            obj: dict[str, Any] = {"type": "IRI", "value": _unescape(o_iri)}
        elif o_bn is not None:
            obj = {"type": "blank node", "value": o_bn}
        else:
            obj = {"type": "literal", "value": _unescape(o_lit),
                   "datatype": RDF_LANGSTRING if o_lang else (_unescape(o_dt) if o_dt else XSD_STRING)}
            if o_lang:
                obj["language"] = o_lang
        graph = _unescape(g_iri) if g_iri is not None else (g_bn or "@default")
        key = (graph, *(tuple(sorted(t.items())) for t in (subject, predicate, obj)))
        if key in seen:
            continue
        seen.add(key)
        dataset.setdefault(graph, []).append({"subject": subject, "predicate": predicate, "object": obj})
    return dataset
