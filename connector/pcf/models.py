"""What a footprint is: formats, validation, the internal 8.0.0 shape and the facts drawn from it.

The internal shape is an io.catenax.pcf 8.0.0 document (a JSON dict). Every format we read is
mapped to it by to_internal and written back by from_internal; what 8.0.0 cannot hold is carried
under "x-pontis-carried" so that a footprint written back to the format it came in is unchanged
(formats/common.py says how). Validation is our own JSON schemas (schemas/pcf/) plus the rules a
schema cannot say (formats/rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from connector.pcf.formats import common, cx7, cx9, pact


class PcfFormat(StrEnum):
    CX7 = "cx-7.0.0"
    CX8 = "cx-8.0.0"
    CX9 = "cx-9.0.0"
    PACT2 = "pact-2"
    PACT3 = "pact-3"


@dataclass(frozen=True)
class Problem:
    path: str      # like "[3].pcf.declaredUnitOfMeasurement"; "" for the document itself
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


class FootprintError(ValueError):
    """A footprint that cannot be read or written; names every problem with its path."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "invalid footprint")


CARRIED_KEY = common.CARRIED_KEY
SPEC_URN = {PcfFormat.CX7: cx7.SPEC_7, PcfFormat.CX8: cx7.SPEC_8, PcfFormat.CX9: cx9.SPEC_9}
ASPECT_URN = {PcfFormat.CX7: "urn:samm:io.catenax.pcf:7.0.0#Pcf",
              PcfFormat.CX8: "urn:samm:io.catenax.pcf:8.0.0#Pcf",
              PcfFormat.CX9: "urn:samm:io.catenax.pcf:9.0.0#Pcf"}


def detect_format(doc: dict) -> PcfFormat:
    """Which format a footprint is written in, from its specVersion (or 9.0.0's grouping)."""
    if not isinstance(doc, dict):
        raise FootprintError([Problem("", f"expected a JSON object, got {type(doc).__name__}")])
    spec = doc.get("specVersion")
    if isinstance(spec, list) and SPEC_URN[PcfFormat.CX8] in spec:
        return PcfFormat.CX8
    if spec == SPEC_URN[PcfFormat.CX7]:
        return PcfFormat.CX7
    if isinstance(spec, str) and spec[:2] in ("2.", "3.") and spec.replace(".", "").replace("-", "").isdigit():
        return PcfFormat.PACT3 if spec.startswith("3.") else PcfFormat.PACT2
    scope = doc.get("scopeOfPcfForm")
    if isinstance(scope, list) and scope and isinstance(scope[0], dict) \
            and scope[0].get("specVersion") == SPEC_URN[PcfFormat.CX9]:
        return PcfFormat.CX9
    known = ", ".join([SPEC_URN[PcfFormat.CX7], f"[{SPEC_URN[PcfFormat.CX8]}]", "2.x.y", "3.x.y",
                       f"scopeOfPcfForm[0].specVersion {SPEC_URN[PcfFormat.CX9]}"])
    where = "specVersion" if "specVersion" in doc else ("scopeOfPcfForm" if "scopeOfPcfForm" in doc else "specVersion")
    return _raise(where, f"unknown footprint format {spec!r}: expected one of {known}")


def _raise(path: str, message: str):
    raise FootprintError([Problem(path, message)])


def validate(doc: dict, fmt: PcfFormat) -> list[Problem]:
    """Every problem of a document in a format: our schema, then the rules a schema cannot say."""
    from connector.pcf.formats import rules, schemas
    problems = schemas.problems(doc, fmt)
    if not problems:
        problems = rules.problems(doc, fmt)
    return [Problem(path, message) for path, message in problems]


_IN = {PcfFormat.CX7: cx7.to_8, PcfFormat.CX9: cx9.to_8, PcfFormat.PACT2: pact.v2_to_8,
       PcfFormat.PACT3: pact.v3_to_8}
_OUT = {PcfFormat.CX7: cx7.from_8, PcfFormat.CX9: cx9.from_8, PcfFormat.PACT2: pact.v2_from_8,
        PcfFormat.PACT3: pact.v3_from_8}


def to_internal(doc: dict, fmt: PcfFormat | None = None) -> dict:
    """Read a footprint in any format into a validated io.catenax.pcf 8.0.0 document."""
    fmt = fmt or detect_format(doc)
    problems = validate(doc, fmt)
    if problems:
        raise FootprintError(problems)
    if fmt == PcfFormat.CX8:
        return common.copy.deepcopy(doc)
    doc8 = _IN[fmt](doc)
    carried = common.carry(doc, _OUT[fmt](doc8), fmt.value)
    if carried:
        doc8[CARRIED_KEY] = carried
    problems = validate(doc8, PcfFormat.CX8)
    if problems:
        raise FootprintError([Problem(p.path, f"{p.message} (after reading {fmt.value})") for p in problems])
    return doc8


def from_internal(doc8: dict, fmt: PcfFormat) -> dict:
    """Write an internal 8.0.0 footprint in a format; raises FootprintError if it cannot be said there."""
    if fmt == PcfFormat.CX8:
        out = common.without_carried(doc8)
    else:
        out = _OUT[fmt](common.without_carried(doc8))
        common.apply_patch(out, common.carried_patch(doc8, fmt.value))
    problems = validate(out, fmt)
    if problems:
        raise FootprintError([Problem(p.path, f"{p.message} (writing {fmt.value})") for p in problems])
    return out


@dataclass(frozen=True)
class FootprintFacts:
    id: str
    product_ids: tuple[str, ...]
    product_name: str
    company_ids: tuple[str, ...]
    declared_unit: str
    declared_unit_amount: Decimal
    product_mass_per_declared_unit: Decimal | None   # None when the footprint does not say (0 = unknown)
    pcf_excluding_biogenic_uptake: Decimal            # kg CO2e per declared_unit_amount declared units
    status: str
    version: int | None
    preceding_pf_ids: tuple[str, ...]
    created: str


def facts(doc8: dict) -> FootprintFacts:
    """The facts of an internal 8.0.0 footprint that the connector works with."""
    pcf = doc8.get("pcf") or {}
    mass = common.to_decimal(pcf.get("productMassPerDeclaredUnit"))
    version = doc8.get("version")
    return FootprintFacts(
        id=str(doc8.get("id", "")),
        product_ids=tuple(doc8.get("productIds") or ()),
        product_name=str(doc8.get("productNameCompany", "")),
        company_ids=tuple(doc8.get("companyIds") or ()),
        declared_unit=str(pcf.get("declaredUnitOfMeasurement", "")),
        declared_unit_amount=common.to_decimal(pcf.get("declaredUnitAmount")) or Decimal(1),
        product_mass_per_declared_unit=mass if mass else None,
        pcf_excluding_biogenic_uptake=common.to_decimal(pcf.get("pcfExcludingBiogenicUptake")) or Decimal(0),
        status=str(doc8.get("status", "")),
        version=int(version) if isinstance(version, (int, float)) and not isinstance(version, bool) else None,
        preceding_pf_ids=tuple(p["id"] for p in doc8.get("precedingPfIds") or ()
                               if isinstance(p, dict) and "id" in p),
        created=str(doc8.get("created", "")),
    )
