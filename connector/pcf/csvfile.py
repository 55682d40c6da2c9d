"""Footprints from a spreadsheet: one CSV row per product, read into io.catenax.pcf 8.0.0 documents.

The columns (a header row names them; order is free; unknown columns are refused):

=============================  ========  ====================================================
column                         required  meaning
=============================  ========  ====================================================
productId                      yes       the manufacturerPartId (or a product URN)
productName                    yes       the product's name at the company
declaredUnit                   yes       liter, kilogram, cubic meter, kilowatt hour, megajoule,
                                         ton kilometer, square meter, piece, hour, megabit, second
pcfExcludingBiogenicUptake     yes       kg CO2e per declaredUnitAmount of declaredUnit (>= 0)
declaredUnitAmount             no        default 1
productMassPerDeclaredUnit     no        kg per declared unit, default 0 (unknown)
pcfIncludingBiogenicUptake     no        default: pcfExcludingBiogenicUptake
id                             no        the footprint's UUID; a new one when empty
description                    no        what the figure covers
geographyCountry               no        ISO 3166-1 alpha-2, e.g. DE
geographyRegionOrSubregion     no        UN M49 region, default Europe
referencePeriodStart, ...End   no        ISO 8601 date-times; default the last calendar year
validityPeriodEnd              no        default the end of next year
crossSectoralStandards         no        ";"-separated, default ISO 14067
precedingPfIds                 no        ";"-separated ids of the footprints this one replaces
=============================  ========  ====================================================

Cells are separated by ``,``, ``;`` or a tab (whichever the header uses); a decimal comma is read
when it is the only separator in a number. Company name and BPN come from the connector's config. A row that cannot be read is a
``RowProblem`` naming the row (the header is row 1) and the column.
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.pcf.document import new_footprint

REQUIRED = ("productId", "productName", "declaredUnit", "pcfExcludingBiogenicUptake")
OPTIONAL = ("declaredUnitAmount", "productMassPerDeclaredUnit", "pcfIncludingBiogenicUptake", "id", "description",
            "geographyCountry", "geographyRegionOrSubregion", "referencePeriodStart", "referencePeriodEnd",
            "validityPeriodEnd", "crossSectoralStandards", "precedingPfIds")
COLUMNS = REQUIRED + OPTIONAL
NUMBERS = ("pcfExcludingBiogenicUptake", "declaredUnitAmount", "productMassPerDeclaredUnit",
           "pcfIncludingBiogenicUptake")
# where a document field came from, so that a schema problem names the column
FIELD_COLUMNS = {
    "id": "id", "productIds": "productId", "productNameCompany": "productName",
    "pcf.declaredUnitOfMeasurement": "declaredUnit", "pcf.declaredUnitAmount": "declaredUnitAmount",
    "pcf.productMassPerDeclaredUnit": "productMassPerDeclaredUnit",
    "pcf.pcfExcludingBiogenicUptake": "pcfExcludingBiogenicUptake", "pcf.fossilGhgEmissions": "pcfExcludingBiogenicUptake",
    "pcf.pcfIncludingBiogenicUptake": "pcfIncludingBiogenicUptake", "productDescription": "description",
    "pcf.boundaryProcessesDescription": "description", "pcf.geographyCountry": "geographyCountry",
    "pcf.geographyRegionOrSubregion": "geographyRegionOrSubregion",
    "pcf.referencePeriodStart": "referencePeriodStart", "pcf.referencePeriodEnd": "referencePeriodEnd",
    "validityPeriodEnd": "validityPeriodEnd", "pcf.crossSectoralStandards": "crossSectoralStandards",
    "precedingPfIds": "precedingPfIds",
}


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


def column_for(path: str) -> str:
    """The CSV column a document path (``pcf.declaredUnitOfMeasurement``, ``productIds[0]``) came from."""
    bare = path.split("[", 1)[0]
    while bare:
        if bare in FIELD_COLUMNS:
            return FIELD_COLUMNS[bare]
        bare = bare.rsplit(".", 1)[0] if "." in bare else ""
    return path


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def read_csv(text: str, *, company_name: str, company_bpn: str,
             now: datetime) -> tuple[list[tuple[int, dict]], list[RowProblem]]:
    """([(row, document)], problems): one 8.0.0 document per data row; any problem means none is kept."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    # spreadsheets saved in a German or French locale separate with ";" (a comma is their decimal mark)
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip() for name in reader.fieldnames or []]
    problems: list[RowProblem] = []
    if not header:
        return [], [RowProblem(1, "(header)", f"the file has no header row; expected the columns {', '.join(REQUIRED)}")]
    for name in header:
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known columns: {', '.join(COLUMNS)}"
            problems.append(RowProblem(1, name or "(empty)", f"unknown column{hint}"))
    for name in REQUIRED:
        if name not in header:
            problems.append(RowProblem(1, name, "this required column is missing"))
    if problems:
        return [], problems
    documents = []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            problems.append(RowProblem(number, "(extra)", f"the row has more cells than the header's {len(header)}"))
            continue
        if not any(row.values()):
            continue  # a blank line
        document = _document(number, row, problems, company_name=company_name, company_bpn=company_bpn, now=now)
        if document is not None:
            documents.append((number, document))
    if not documents and not problems:
        problems.append(RowProblem(2, "(rows)", "the file holds a header but no footprints"))
    return documents, problems


def _document(number: int, row: dict[str, str], problems: list[RowProblem], **company: Any) -> dict | None:
    found = len(problems)
    for name in REQUIRED:
        if not row.get(name):
            problems.append(RowProblem(number, name, "is empty; a value is required"))
    values: dict[str, Decimal] = {}
    for name in NUMBERS:
        if row.get(name):
            try:
                values[name] = Decimal(row[name].replace(",", ".") if row[name].count(",") == 1 and "." not in row[name]
                                       else row[name])
                if not values[name].is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                problems.append(RowProblem(number, name, f"expected a number, got {row[name]!r}"))
    if len(problems) > found:
        return None
    period = None
    if row.get("referencePeriodStart") or row.get("referencePeriodEnd"):
        if not (row.get("referencePeriodStart") and row.get("referencePeriodEnd")):
            missing = "referencePeriodEnd" if row.get("referencePeriodStart") else "referencePeriodStart"
            problems.append(RowProblem(number, missing, "give both ends of the reference period, or neither"))
            return None
        period = (row["referencePeriodStart"], row["referencePeriodEnd"])
    return new_footprint(
        product_id=row["productId"], product_name=row["productName"], declared_unit=row["declaredUnit"],
        pcf_excluding_biogenic_uptake=values["pcfExcludingBiogenicUptake"],
        declared_unit_amount=values.get("declaredUnitAmount", Decimal(1)),
        product_mass_per_declared_unit=values.get("productMassPerDeclaredUnit", Decimal(0)),
        pcf_including_biogenic_uptake=values.get("pcfIncludingBiogenicUptake"),
        footprint_id=row.get("id") or None, description=row.get("description") or None,
        preceding_ids=_list(row.get("precedingPfIds", "")), geography_country=row.get("geographyCountry") or None,
        geography_region=row.get("geographyRegionOrSubregion") or "Europe", reference_period=period,
        validity_end=row.get("validityPeriodEnd") or None,
        standards=_list(row.get("crossSectoralStandards", "")) or None, **company)
