"""The roll-up: a product's cradle-to-gate footprint from its own emissions and its suppliers' PCFs.

Pure: the bill of materials and each component's supplied footprint (``FootprintFacts``) in, the
result out. No I/O; ``connector pcf rollup`` fetches the footprints and prints this.

A footprint says kg CO2e per ``declaredUnitAmount`` of its ``declaredUnit``; per one declared unit
that is ``pcf / declaredUnitAmount``. A component's quantity becomes declared units by these
rules, and nothing else (any other pair of units makes the component an error, never a number):

- the same unit: the quantity is already in declared units;
- gram, kilogram and tonne convert into each other when the footprint is declared per kilogram;
- a mass (g, kg, t) of a footprint declared per piece: kilograms / ``productMassPerDeclaredUnit``;
- pieces of a footprint declared per another unit: pieces x ``declaredUnitAmount`` (one piece is
  the declared amount, as Catena-X declares it).

contribution = quantity in declared units x pcf / declaredUnitAmount. The total is the own
emissions plus the contributions of the components whose status is ``ok``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.pcf.document import number

DECLARED_UNITS = ("liter", "kilogram", "cubic meter", "kilowatt hour", "megajoule", "ton kilometer", "square meter",
                  "piece", "hour", "megabit", "second")
MASS_IN_KG = {"gram": Decimal("0.001"), "kilogram": Decimal(1), "tonne": Decimal(1000)}
UNITS = DECLARED_UNITS + ("gram", "tonne")
STATUSES = ("ok", "missing", "denied", "error")


class BomError(ValueError):
    """A BOM that cannot be rolled up, naming the field and what was expected."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class UnitMismatch(ValueError):
    """A component whose quantity cannot be put in its footprint's declared unit."""


@dataclass(frozen=True)
class Component:
    product_id: str
    supplier_bpn: str
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class Bom:
    product_id: str
    product_name: str
    declared_unit: str
    own_emissions: Decimal
    components: tuple[Component, ...]


@dataclass(frozen=True)
class Supplied:
    """What became of one component's footprint: ``facts`` when ok, else the reason."""

    status: str
    facts: Any = None  # connector.pcf.models.FootprintFacts
    reason: str | None = None
    footprint_id: str | None = None


@dataclass
class Line:
    component: Component
    status: str
    pcf: Decimal | None = None
    contribution: Decimal | None = None
    reason: str | None = None
    footprint_id: str | None = None

    def to_json(self) -> dict:
        c = self.component
        return {"productId": c.product_id, "supplierBpn": c.supplier_bpn, "quantity": number(c.quantity),
                "unit": c.unit, "pcfExcludingBiogenicUptake": None if self.pcf is None else number(self.pcf),
                "contribution": None if self.contribution is None else number(self.contribution),
                "status": self.status, "reason": self.reason}


@dataclass
class Result:
    bom: Bom
    lines: list[Line] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return self.bom.own_emissions + sum((ln.contribution for ln in self.lines
                                             if ln.status == "ok" and ln.contribution is not None), Decimal(0))

    @property
    def failed(self) -> list[Line]:
        return [ln for ln in self.lines if ln.status != "ok"]

    def to_json(self) -> dict:
        return {"productId": self.bom.product_id, "pcfExcludingBiogenicUptake": number(self.total),
                "declaredUnit": self.bom.declared_unit, "components": [ln.to_json() for ln in self.lines]}


BOM_NUMBER_LIMIT = Decimal(10) ** 12


def _decimal(value: Any, path: str, *, positive: bool = False) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BomError(path, f"expected a number, got {value!r}")
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise BomError(path, f"expected a number, got {value!r}") from None
    if not out.is_finite() or out < 0 or (positive and out == 0):
        raise BomError(path, f"expected a {'positive' if positive else 'non-negative'} number, got {value!r}")
    if out > BOM_NUMBER_LIMIT:  # beyond it, sums overflow what JSON can carry
        raise BomError(path, f"expected a number of at most {BOM_NUMBER_LIMIT:.0E}, got {value!r}")
    return out


def _unit(value: Any, path: str, allowed: tuple[str, ...]) -> str:
    if value in allowed:
        return value
    close = difflib.get_close_matches(str(value), allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(allowed)}"
    raise BomError(path, f"unknown unit {value!r}{hint}")


def _text(data: dict, key: str, path: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BomError(path, "a non-empty string is required")
    return value.strip()


def _known(data: dict, keys: tuple[str, ...], path: str) -> None:
    for key in data:
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"expected only {', '.join(keys)}"
            raise BomError(f"{path}{key}", f"unknown field; {hint}")


def parse_bom(data: Any) -> Bom:
    """The BOM from its JSON: ``{productId, productName, declaredUnit, ownEmissions:
    {pcfExcludingBiogenicUptake}, components: [{productId, supplierBpn, quantity, unit}]}``."""
    if not isinstance(data, dict):
        raise BomError("(top)", "expected a JSON object")
    _known(data, ("productId", "productName", "declaredUnit", "ownEmissions", "components"), "")
    own = data.get("ownEmissions")
    if not isinstance(own, dict) or "pcfExcludingBiogenicUptake" not in own:
        raise BomError("ownEmissions", 'expected {"pcfExcludingBiogenicUptake": kg CO2e}')
    _known(own, ("pcfExcludingBiogenicUptake",), "ownEmissions.")
    raw = data.get("components")
    if not isinstance(raw, list):
        raise BomError("components", "expected a list of {productId, supplierBpn, quantity, unit}")
    components = []
    for i, item in enumerate(raw):
        path = f"components[{i}]"
        if not isinstance(item, dict):
            raise BomError(path, "expected {productId, supplierBpn, quantity, unit}")
        _known(item, ("productId", "supplierBpn", "quantity", "unit"), path + ".")
        components.append(Component(_text(item, "productId", path + ".productId"),
                                    _text(item, "supplierBpn", path + ".supplierBpn"),
                                    _decimal(item.get("quantity"), path + ".quantity", positive=True),
                                    _unit(item.get("unit"), path + ".unit", UNITS)))
    return Bom(_text(data, "productId", "productId"), str(data.get("productName") or data["productId"]),
               _unit(data.get("declaredUnit"), "declaredUnit", DECLARED_UNITS),
               _decimal(own["pcfExcludingBiogenicUptake"], "ownEmissions.pcfExcludingBiogenicUptake"),
               tuple(components))


def declared_units(component: Component, facts: Any) -> Decimal:
    """The component's quantity in its footprint's declared unit, by the rules above."""
    unit, declared = component.unit, facts.declared_unit
    if unit == declared:
        return component.quantity
    if unit in MASS_IN_KG and declared in MASS_IN_KG:
        return component.quantity * MASS_IN_KG[unit] / MASS_IN_KG[declared]
    if unit in MASS_IN_KG and declared == "piece":
        mass = facts.product_mass_per_declared_unit
        if not mass:
            raise UnitMismatch(f"{component.quantity} {unit} of a footprint declared per piece needs its "
                               "productMassPerDeclaredUnit, which the footprint does not give")
        return component.quantity * MASS_IN_KG[unit] / Decimal(mass)
    if unit == "piece":
        return component.quantity * Decimal(facts.declared_unit_amount)
    raise UnitMismatch(f"a quantity in {unit!r} cannot be put in the footprint's declared unit {declared!r} "
                       "(same unit, g/kg/t, kilograms of pieces, or pieces of any unit)")


def contribution(component: Component, facts: Any) -> Decimal:
    per_unit = Decimal(facts.pcf_excluding_biogenic_uptake) / Decimal(facts.declared_unit_amount)
    return declared_units(component, facts) * per_unit


def roll_up(bom: Bom, supplied: list[Supplied]) -> Result:
    """The result for ``bom``, ``supplied[i]`` being what was found for ``bom.components[i]``."""
    if len(supplied) != len(bom.components):
        raise ValueError(f"{len(bom.components)} components but {len(supplied)} supplied footprints")
    result = Result(bom)
    for component, found in zip(bom.components, supplied):
        if found.status not in STATUSES:
            raise ValueError(f"status {found.status!r}: expected one of {', '.join(STATUSES)}")
        line = Line(component, found.status, reason=found.reason, footprint_id=found.footprint_id)
        if found.status == "ok":
            line.pcf = Decimal(found.facts.pcf_excluding_biogenic_uptake)
            try:
                line.contribution = contribution(component, found.facts)
            except UnitMismatch as exc:
                line.status, line.reason = "error", str(exc)
        result.lines.append(line)
    return result


def table(result: Result) -> list[list[str]]:
    """Rows for people: a header, one row per component, and the total."""
    rows = [["product", "supplier", "quantity", "PCF (kg CO2e)", "contribution", "status"]]
    rows.append([f"{result.bom.product_id} (own)", "-", "-", "-", _fmt(result.bom.own_emissions), "ok"])
    for ln in result.lines:
        c = ln.component
        status = ln.status if ln.reason is None else f"{ln.status}: {ln.reason}"
        rows.append([c.product_id, c.supplier_bpn, f"{number(c.quantity)} {c.unit}",
                     "-" if ln.pcf is None else _fmt(ln.pcf), "-" if ln.contribution is None else _fmt(ln.contribution),
                     status])
    rows.append(["total", "", "", "", f"{_fmt(result.total)} per {result.bom.declared_unit}", ""])
    return rows


def _fmt(value: Decimal) -> str:
    return str(number(value))
