"""Building blocks of the project's footprint schemas (see generate.py)."""

from __future__ import annotations

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# ---- building blocks -------------------------------------------------------------------------
TEXT = {"type": "string"}
NON_EMPTY = {"type": "string", "minLength": 1}
BOOL = {"type": "boolean"}
NUMBER = {"type": "number"}
AT_LEAST_0 = {"type": "number", "minimum": 0}
AT_MOST_0 = {"type": "number", "maximum": 0}
ABOVE_0 = {"type": "number", "exclusiveMinimum": 0}
PERCENT = {"type": "number", "minimum": 0, "maximum": 100}
URI = {"type": "string", "format": "uri"}
TIMESTAMP = {"$ref": "#/$defs/timestamp"}
UUID = {"$ref": "#/$defs/uuid"}
REGION = {"$ref": "#/$defs/region"}
PACT_DATE = {"type": "string", "format": "date-time"}
PACT_UUID = {"type": "string", "format": "uuid"}
URN = {"type": "string", "format": "urn", "pattern": "^[uU][rR][nN]:"}
PACT_SPEC = {"type": "string", "pattern": r"^\d+\.\d+\.\d+(-\d{8})?$"}
# PACT v3 decimals are strings of these shapes
DEC = {"type": "string", "format": "decimal", "pattern": r"^[+-]?\d+(\.\d+)?$"}
DEC_AT_LEAST_0 = {"type": "string", "format": "decimal", "pattern": r"^[+]?\d+(\.\d+)?$"}
DEC_AT_MOST_0 = {"type": "string", "format": "decimal", "pattern": r"^(-\d+(\.\d+)?|0+(\.0+)?)$"}
DEC_ABOVE_0 = {"type": "string", "format": "decimal",
               "pattern": r"^[+]?(\d*[1-9]\d*(\.\d+)?|0+\.\d*[1-9]\d*)$"}
V2_DEC = {"type": "string", "format": "decimal"}

REGIONS = ["Africa", "Americas", "Asia", "Europe", "Oceania", "Australia and New Zealand", "Central Asia",
           "Eastern Asia", "Eastern Europe", "Latin America and the Caribbean", "Melanesia", "Micronesia",
           "Northern Africa", "Northern America", "Northern Europe", "Polynesia", "South-eastern Asia",
           "Southern Asia", "Southern Europe", "Sub-Saharan Africa", "Western Asia", "Western Europe"]
CX_UNITS_7 = ["liter", "kilogram", "cubic meter", "kilowatt hour", "megajoule", "ton kilometer",
              "square meter", "piece"]
CX_UNITS_8 = CX_UNITS_7 + ["hour", "megabit", "second"]
PACT_UNITS_2 = CX_UNITS_7[:-1]
PACT_UNITS_3 = CX_UNITS_7 + ["hour", "megabit second"]
RETRO_8 = ["Retrospective PCF, Prospective PCF without forerunner", "Prospective PCF without forerunner",
           "Prospective PCF of further developed product with forerunner",
           "Prospective PCF for current product for future production date", "Progressive PCF"]
RETRO_9 = ["Retrospective PCF"] + RETRO_8[1:]


def enum(*values):
    return {"type": "string", "enum": list(values)}


def array(items, **constraints):
    return {"type": "array", "items": items, **constraints}


def obj(properties: dict, required=(), **more):
    out = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    out.update(more)
    return out


def strict(properties: dict, optional=(), **more):
    """An object whose properties are all required except the ones named optional."""
    return obj(properties, [k for k in properties if k not in optional], **more)


def within(low, high):
    return {"type": "number", "minimum": low, "maximum": high}


def cx_defs():
    return {
        "timestamp": {"type": "string", "pattern": (
            r"^-?([1-9]\d{3,}|0\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T"
            r"(([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?|24:00:00(\.0+)?)"
            r"(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))?$")},
        "uuid": {"type": "string", "pattern": (
            r"^(urn:uuid:)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")},
        "region": enum(*REGIONS, "Global", "Several"),
        "country": {"type": "string", "pattern": "[A-Z]{2}"},
        "subdivision": {"type": "string", "pattern": "([A-Z]{2}-[A-Z0-9]{1,3}|)"},
    }


COUNTRY = {"$ref": "#/$defs/country"}
SUBDIVISION = {"$ref": "#/$defs/subdivision"}


def document(title: str, body: dict, defs: dict | None = None) -> dict:
    out = {"$schema": DIALECT, "$id": f"https://pontis.example/schemas/pcf/{title}.schema.json",
           "title": title}
    out.update(body)
    if defs:
        out["$defs"] = defs
    return out
