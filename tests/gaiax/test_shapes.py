"""GX-3 and GX-7: the credential subjects we build conform to the shapes; each kind of bad input
names the shape and the path. test_shapes_reference.py runs the same cases through the official shapes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from connector.gaiax.credentials import (
    Issuing,
    data_product,
    legal_person,
    registration_request,
    service_offering,
    subjects_of,
    terms_issuer,
)
from connector.gaiax.shapes import ShapesValidator, ShapeViolation, validator

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DSP = "https://acme.example/api/dsp/2025-1"
TERMS = "067dcac5efd18c1927deb1ffed3feab6d0ad044c0a9a263e6d5d8bdc43224515"
GX = SimpleNamespace(legal_name="Acme Werke GmbH", country_code="DE", headquarters_country_code=None,
                     locality="Stuttgart", registration_number_kind="vat-id", registration_number="DE129273398")


def participant_subjects() -> list[dict[str, Any]]:
    issuing = Issuing("did:web:acme.example", "https://acme.example", NOW)
    request = registration_request(issuing, GX)
    vat = {"id": request.subject_id, "type": "gx:VatID", "gx:vatID": "DE129273398", "gx:countryCode": "DE"}
    return subjects_of([legal_person(issuing, GX, request.subject_id), terms_issuer(issuing, TERMS)]) + [vat]


def offering_subjects() -> list[dict[str, Any]]:
    issuing = Issuing("did:web:acme.example", "https://acme.example", NOW)
    ours = participant_subjects()
    provider = ours[0]["id"]
    so = service_offering(issuing, provider, DSP, "https://acme.example/terms.pdf", "ab" * 32, "Acme connector")
    dp = data_product(issuing, provider, DSP, "pcf-1", {"name": "PCF of part 1"}, "https://acme.example/terms.pdf",
                      "ab" * 32)
    return ours + subjects_of([so, dp])


def _with(subjects: list[dict[str, Any]], index: int, change: Any) -> list[dict[str, Any]]:
    out = copy.deepcopy(subjects)
    change(out[index])
    return out


# (case, subjects, the (shape, path) that must be named)
BAD = {
    "closed": (lambda: _with(participant_subjects(), 0, lambda s: s.update({"gx:bpn": "BPNL000000000001"})),
               ("gx:LegalPersonShape", "gx:bpn")),
    "missing headquarters": (lambda: _with(participant_subjects(), 0, lambda s: s.pop("gx:headquartersAddress")),
                             ("gx:LegalPersonShape", "gx:headquartersAddress")),
    "wrong T&C hash": (lambda: _with(participant_subjects(), 1, lambda s: s.update({"gx:gaiaxTermsAndConditions": "deadbeef"})),
                       ("gx:IssuerShape", "gx:gaiaxTermsAndConditions")),
    "country name": (lambda: _with(participant_subjects(), 0, lambda s: s["gx:legalAddress"].update({"gx:countryCode": "Germany"})),
                     ("gx:AddressShape", "gx:countryCode")),
    "address without type": (lambda: _with(participant_subjects(), 0, lambda s: s["gx:legalAddress"].pop("type")),
                             ("gx:LegalPersonShape", "gx:legalAddress")),
    "data product with endpoint": (
        lambda: _with(offering_subjects(), 4, lambda s: s.update({"gx:endpoint": {"type": "gx:Endpoint", "gx:standardConformity": []}})),
        ("gx:DataProductShape", "gx:endpoint")),
    "anyURI as plain string": (
        lambda: _with(offering_subjects(), 3, lambda s: s["gx:endpoint"].update({"gx:endpointURL": DSP})),
        ("gx:EndpointShape", "gx:endpointURL")),
}


def check(v: ShapesValidator) -> None:
    assert v.results(participant_subjects()) == []
    assert v.results(offering_subjects()) == []
    for case, (subjects, (shape, path)) in BAD.items():
        named = {(r.shape, r.path) for r in v.results(subjects())}
        assert (shape, path) in named, f"{case}: expected {shape} at {path}, got {named}"


def test_our_shapes() -> None:
    check(validator())


def test_a_violation_raises_naming_shape_and_path() -> None:
    subjects, _ = BAD["closed"]
    with pytest.raises(ShapeViolation) as caught:
        validator().check(subjects())
    assert "gx:LegalPersonShape at gx:bpn" in str(caught.value) and "is closed" in str(caught.value)


def test_an_unknown_prefix_is_refused() -> None:
    results = validator().results([{"id": "https://a/x", "type": "gx:LegalPerson", "foo:bar": "x"}])
    assert results and "unknown prefix 'foo'" in results[0].message
