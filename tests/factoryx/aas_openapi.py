"""Validating answers against the AAS v3.0.3 OpenAPI documents (../shared/reference/aas), offline:
the SwaggerHub URLs their ``$ref``s name are mapped to the local copies (see that folder's SOURCES.md)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

AAS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "aas" / "v3.0.3"
P2 = "https://api.swaggerhub.com/domains/Plattform_i40/Part2-API-Schemas/V3.0.3"
P1 = "https://api.swaggerhub.com/domains/Plattform_i40/Part1-MetaModel-Schemas/V3.0.3"
P1_301 = "https://api.swaggerhub.com/domains/Plattform_i40/Part1-MetaModel-Schemas/V3.0.1"
SSP = {"registry": "AssetAdministrationShellRegistryServiceSpecification/V3.0_SSP-002.yaml",
       "discovery": "DiscoveryServiceSpecification/V3.0_SSP-001.yaml",
       "submodel": "SubmodelServiceSpecification/V3.0_SSP-002.yaml"}
AVAILABLE = (AAS / "Part2-API-Schemas" / "openapi.yaml").exists()


def _load(relative: str) -> dict[str, Any]:
    return yaml.safe_load((AAS / relative).read_text())


@cache
def _registry() -> Registry:
    part1 = Resource.from_contents(_load("Part1-MetaModel-Schemas/openapi.yaml"), default_specification=DRAFT4)
    part2 = Resource.from_contents(_load("Part2-API-Schemas/openapi.yaml"), default_specification=DRAFT4)
    return Registry().with_resources([(P2, part2), (P1, part1), (P1_301, part1)])


def response_schema(service: str, path: str, method: str = "get", status: str = "200") -> dict[str, Any]:
    """The JSON schema an SSP document gives for one answer."""
    spec = _load(SSP[service])
    return spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    validator = Draft4Validator(schema, registry=_registry())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(instance)]


def component(name: str, part: str = P1) -> dict[str, Any]:
    return {"$ref": f"{part}#/components/schemas/{name}"}
