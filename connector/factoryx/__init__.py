"""Factory-X MX-Port (Hercules) profile: what differs from Catena-X (research gaiax.md §4).

Owns: the AAS 3.0.3 service profiles the registry announces per ``[profile] dataspace``
(``profiles_for``), the submodel as an IDTA-01002-3-0-3 ``Submodel`` built from the aspect's
value-only JSON (``submodel``), our structural check of a received Submodel and its value-only JSON
(``submodel_check``), and what a consumer checks of a provider's twins on the way to a submodel, ADR
008/009 (``discovery``: the typed registry dataset, one base path, semanticIds, the DSP endpoint and
its strict ``subprotocolBody``), used by connector.provenance.suppliers. The registry itself
(Registry SSP-002 and Discovery SSP-001 from one base path; a shell not shared with the caller is a
403 in the factory-x profile) is connector.parts; the Factory-X policy operands are in
connector.policy, and the console's editor lists them first (connector.web.policy_form).
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
