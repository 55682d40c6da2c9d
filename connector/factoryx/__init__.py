"""Factory-X MX-Port (Hercules) profile: what differs from Catena-X (research gaiax.md §4).

Owns: the AAS 3.0.3 service profiles the registry announces per ``[profile] dataspace``
(``profiles_for``), and the submodel as an IDTA-01002-3-0-3 ``Submodel`` built from the aspect's
value-only JSON (``submodel``). The registry itself (Registry SSP-002 and Discovery SSP-001 from one
base path) is connector.parts; the Factory-X policy operands are in connector.policy.
"""

from __future__ import annotations

AAS_31 = ["https://admin-shell.io/aas/API/3/1/AssetAdministrationShellRegistryServiceSpecification/SSP-001",
          "https://admin-shell.io/aas/API/3/1/DiscoveryServiceSpecification/SSP-001"]
AAS_303 = ["https://admin-shell.io/aas/API/3/0/AssetAdministrationShellRegistryServiceSpecification/SSP-002",
           "https://admin-shell.io/aas/API/3/0/DiscoveryServiceSpecification/SSP-001"]


def profiles_for(dataspace: str) -> list[str]:
    """The AAS service profiles the registry's ``/description`` names."""
    if dataspace == "factory-x":
        return list(AAS_303)
    if dataspace == "both":
        return AAS_303 + AAS_31
    return list(AAS_31)
