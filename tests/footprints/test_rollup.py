"""The roll-up calculation: unit rules, statuses, the total, refusals of a bad BOM."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from connector.pcf.rollup import BomError, Supplied, parse_bom, roll_up, table


@dataclass
class Facts:  # the fields of connector.pcf.models.FootprintFacts the roll-up reads
    declared_unit: str
    pcf_excluding_biogenic_uptake: Decimal
    declared_unit_amount: Decimal = Decimal(1)
    product_mass_per_declared_unit: Decimal | None = None


def bom(*components: dict, own: float = 30) -> dict:
    return {"productId": "AX-RM-7", "productName": "Rear-axle module", "declaredUnit": "piece",
            "ownEmissions": {"pcfExcludingBiogenicUptake": own}, "components": list(components)}


def comp(product: str, quantity, unit: str = "piece", bpn: str = "BPNL0000000NGUSS") -> dict:
    return {"productId": product, "supplierBpn": bpn, "quantity": quantity, "unit": unit}


def ok(unit: str, pcf: str, amount: str = "1", mass: str | None = None) -> Supplied:
    return Supplied("ok", Facts(unit, Decimal(pcf), Decimal(amount), None if mass is None else Decimal(mass)))


def test_the_axle_module_is_58_6_kg() -> None:
    parsed = parse_bom(bom(comp("NG-WC-400", 2), comp("AX-BRG-62", 2, bpn="BPNL00000ACHSEAG")))
    result = roll_up(parsed, [ok("piece", "12.5"), ok("piece", "1.8")])
    out = result.to_json()
    assert out["pcfExcludingBiogenicUptake"] == 58.6
    assert out["declaredUnit"] == "piece"
    assert [c["contribution"] for c in out["components"]] == [25, 3.6]
    assert [c["status"] for c in out["components"]] == ["ok", "ok"]
    assert table(result)[-1][4] == "58.6 per piece"


@pytest.mark.parametrize(("quantity", "unit", "supplied", "expected"), [
    (3, "kilogram", ok("kilogram", "2"), 6),                       # same unit
    (3, "liter", ok("liter", "10", amount="5"), 6),                 # same unit, per 5 liters
    (500, "gram", ok("kilogram", "2"), 1),                          # g -> kg
    ("0.5", "tonne", ok("kilogram", "2"), 1000),           # t -> kg
    (10, "kilogram", ok("piece", "12.5", mass="2.5"), 50),          # kg of pieces: / mass
    (2, "piece", ok("kilogram", "15000", amount="2300"), 30000),    # pieces of kg: x amount
])
def test_unit_rules(quantity, unit, supplied, expected) -> None:
    result = roll_up(parse_bom(bom(comp("X", quantity, unit), own=0)), [supplied])
    assert result.to_json()["components"][0]["contribution"] == expected
    assert result.to_json()["pcfExcludingBiogenicUptake"] == expected


@pytest.mark.parametrize(("unit", "supplied", "why"), [
    ("kilogram", ok("piece", "12.5"), "productMassPerDeclaredUnit"),   # no mass given
    ("liter", ok("kilogram", "2"), "cannot be put"),                   # liters of kilograms
    ("gram", ok("liter", "2"), "cannot be put"),
])
def test_any_other_units_make_the_component_an_error(unit, supplied, why) -> None:
    result = roll_up(parse_bom(bom(comp("X", 1, unit))), [supplied])
    line = result.to_json()["components"][0]
    assert line["status"] == "error" and why in line["reason"]
    assert line["contribution"] is None
    assert result.to_json()["pcfExcludingBiogenicUptake"] == 30
    assert result.failed


def test_missing_and_denied_components_are_listed_and_add_nothing() -> None:
    parsed = parse_bom(bom(comp("A", 1), comp("B", 1), comp("C", 1)))
    result = roll_up(parsed, [ok("piece", "1"), Supplied("missing", reason="no PCF for B"),
                              Supplied("denied", reason="FrameworkAgreement not met")])
    out = result.to_json()
    assert out["pcfExcludingBiogenicUptake"] == 31
    assert [(c["status"], c["reason"]) for c in out["components"][1:]] == [
        ("missing", "no PCF for B"), ("denied", "FrameworkAgreement not met")]
    assert [ln.component.product_id for ln in result.failed] == ["B", "C"]


@pytest.mark.parametrize(("change", "path"), [
    (lambda b: b.pop("productId"), "productId"),
    (lambda b: b.update(declaredUnit="pieces"), "declaredUnit"),
    (lambda b: b.update(ownEmissions={"pcfExcludingBiogenicUptake": -1}), "ownEmissions.pcfExcludingBiogenicUptake"),
    (lambda b: b.update(ownEmisions={}), "ownEmisions"),
    (lambda b: b["components"][0].update(unit="kg"), "components[0].unit"),
    (lambda b: b["components"][0].update(quantity="two"), "components[0].quantity"),
    (lambda b: b["components"][0].update(quantity=0), "components[0].quantity"),
    (lambda b: b["components"][0].pop("supplierBpn"), "components[0].supplierBpn"),
    (lambda b: b["components"][0].update(supplier="x"), "components[0].supplier"),
])
def test_a_bad_bom_is_refused_naming_the_field(change, path) -> None:
    data = bom(comp("NG-WC-400", 2))
    change(data)
    with pytest.raises(BomError) as caught:
        parse_bom(data)
    assert caught.value.path == path


def test_unknown_unit_names_the_closest() -> None:
    with pytest.raises(BomError, match="did you mean 'piece'"):
        parse_bom(bom(comp("X", 1, "pieces")))
