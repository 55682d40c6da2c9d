"""Our context files: index completeness, authorship, and term-by-term equivalence.

Equivalence is checked on the active contexts pyld builds (every term's IRI,
type coercion, container, protection and scoped context), which is stronger
than comparing the expansion of a handful of examples.
"""

from __future__ import annotations

import json

import pytest

from connector.jsonld import get_loader
from connector.jsonld.loader import contexts_dir

from .conftest import (
    CX_CONTEXT,
    CX_ODRL,
    DSPACE_CONTEXT,
    DSPACE_ODRL,
    EDC_CONTEXT,
    OFFICIAL_CX_PROFILE,
    OFFICIAL_CX_TRACTUSX,
    OFFICIAL_DSP,
    OFFICIAL_EDC,
    TX_AUTH_CONTEXT,
    Harness,
    official,
    reference_dir,
    requires_shared,
)

REQUIRED = {DSPACE_CONTEXT, DSPACE_ODRL, EDC_CONTEXT, TX_AUTH_CONTEXT, CX_CONTEXT, CX_ODRL}


def ours(iri: str) -> dict:
    return Harness(get_loader()).signature(iri)


def test_index_serves_every_required_context():
    index = json.loads((contexts_dir() / "index.json").read_text(encoding="utf-8"))
    assert REQUIRED <= set(index)
    for iri, name in index.items():
        assert (contexts_dir() / name).is_file(), f"{iri} -> missing file {name}"
    assert get_loader().iris == set(index)


@requires_shared
def test_context_files_are_our_own():
    """The rule is to write our own files, never to copy the reference ones."""
    upstream = {p.read_bytes() for p in reference_dir().rglob("*.json*")}
    for path in contexts_dir().glob("*.jsonld"):
        assert path.read_bytes() not in upstream, f"{path.name} is a byte copy of a reference file"


@requires_shared
@pytest.mark.parametrize(
    "iri, mapping",
    [
        (DSPACE_CONTEXT, OFFICIAL_DSP),
        (DSPACE_ODRL, OFFICIAL_DSP),
        (EDC_CONTEXT, OFFICIAL_EDC),
        (TX_AUTH_CONTEXT, OFFICIAL_EDC),
        (CX_ODRL, OFFICIAL_CX_PROFILE),
        (CX_ODRL, OFFICIAL_CX_TRACTUSX),
    ],
    ids=["dspace", "dspace-odrl", "edc-v1", "tx-auth", "cx-odrl-profile", "cx-odrl-tractusx"],
)
def test_context_is_equivalent_to_upstream(iri, mapping):
    theirs = official(mapping).signature(iri)
    mine = ours(iri)
    assert mine["mappings"], "no terms at all: the signature would compare nothing"
    assert sorted(mine["mappings"]) == sorted(theirs["mappings"])
    for term, definition in theirs["mappings"].items():
        assert mine["mappings"][term] == definition, term
    assert mine == theirs


@requires_shared
def test_cx_policy_context_matches_tractusx_and_adds_profile_terms():
    """Tractus-X EDC serves cx-policy-v1.jsonld for this IRI; we serve a superset.

    The extra terms come from the cx-odrl-profile copy of the context, which
    defines two terms Tractus-X lacks and the older name ``WarrantyDuration``.
    """
    theirs = official(OFFICIAL_CX_TRACTUSX).signature(CX_CONTEXT)
    mine = ours(CX_CONTEXT)
    for term, definition in theirs["mappings"].items():
        assert mine["mappings"].get(term) == definition, term
    extra = set(mine["mappings"]) - set(theirs["mappings"])
    assert extra == {"ManagedLegalEntityBpnl", "ManagedLegalEntityRegion", "WarrantyDuration"}
    assert {k: v for k, v in mine.items() if k != "mappings"} == {
        k: v for k, v in theirs.items() if k != "mappings"
    }


@requires_shared
def test_cx_policy_context_covers_the_profile_context():
    """Same terms as the cx-odrl-profile context, except its bogus ``odrl`` term.

    Upstream defines ``"odrl": "https://w3id.org/catenax/2025/9/policy/odrl.jsonld"``
    as a *term* (meant as an import); it is not a usable prefix, so we leave it out.
    The profile context is also unprotected, so protection is not compared here.
    """
    theirs = official(OFFICIAL_CX_PROFILE).signature(CX_CONTEXT)["mappings"]
    mine = ours(CX_CONTEXT)["mappings"]
    assert theirs["odrl"]["@id"] == CX_ODRL and "odrl" not in mine

    def unprotected(d):
        return {k: v for k, v in d.items() if k != "protected"}

    for term, definition in theirs.items():
        if term != "odrl":
            assert unprotected(mine[term]) == unprotected(definition), term
    extra = set(mine) - set(theirs)
    assert extra == {"cred", "xsd", "WarrantyDefinition", "WarrantyDurationMonths"}
