"""Part provenance data a company publishes: Industry Core twins, its Digital Twin Registry, its submodels.

Owns: the aspect models (``models``: SerialPart, Batch, PartTypeInformation, SingleLevelBomAsBuilt,
SingleLevelUsageAsBuilt in 3.x ``catenaXId`` and 4.0.0 ``globalAssetId`` form, validated with our
own schemas in ``schemas/parts/``, read into typed objects such as ``Relationship``), the twin store
and the AAS Registry v3 subset with its BPN visibility (``registry``; its HTTP paths, shared by the
data plane and the management API, in ``registry_api``), what the data plane serves for part data
(``serving``: the registry and the signed submodels), loading a company's parts (``importer``),
and their assembly per connector (``service``; a running connector holds it as ``Container.parts``).
Tables: ``store.models.PartTwin``, ``TwinAssetId``, ``TwinSubmodel`` (migration 0008).

Contract for readers of this package (prov-traversal: connector/provenance, management/irs.py)
------------------------------------------------------------------------------------------

**The registry asset.** Every connector that has imported parts offers one asset

- ``@id``: ``digital-twin-registry`` (``REGISTRY_ASSET_ID``)
- ``properties``: ``http://purl.org/dc/terms/type`` = ``{"@id": "https://w3id.org/catenax/taxonomy#DigitalTwinRegistry"}``
  (``cx-taxo:DigitalTwinRegistry``) and ``https://w3id.org/catenax/ontology/common#version`` = ``"3.0"``.
  Find it in a catalog by that dct:type (or by the id).

Negotiate it, start a pull transfer (or use ``/v3/edrs``), and call the provider's data plane with
the EDR: ``{edr endpoint}`` is ``{provider public_url}/api/public``, header ``Authorization: <EDR token>``
(raw or ``Bearer ...``). Read-only AAS Registry paths under it:

- ``GET  {endpoint}/shell-descriptors?limit=&cursor=`` → ``{"paging_metadata": {"cursor"?}, "result": [descriptor]}``
- ``GET  {endpoint}/shell-descriptors/{base64url(aas id)}`` → one descriptor (404 ``Result`` if unknown or not visible)
- ``GET  {endpoint}/shell-descriptors/{base64url(aas id)}/submodel-descriptors``
- ``GET  {endpoint}/lookup/shells?assetIds=<base64url(json {"name","value"})>`` (repeatable = AND;
  ``name`` ``globalAssetId`` matches the twin's globalAssetId) → ``{"paging_metadata": {}, "result": [aas id]}``
- ``POST {endpoint}/lookup/shellsByAssetLink`` body ``[{"name","value"}, ...]`` → same shape.

The caller's BPN is the one the provider verified at transfer time (the transfer's consumer claims),
never a header. A twin whose specificAssetIds do not name the caller's BPN in ``externalSubjectId``
is invisible to it (404 / absent from lookups), as in Tractus-X (closed by default); in
``[profile] dataspace = "factory-x"`` asking for it by id is a 403 saying why (ADR 009's granular access).

**Submodels.** Each aspect type a company imported is one asset, serving that aspect of all its twins:

- ``@id``: ``submodels-<AspectName>-<version>``, e.g. ``submodels-SingleLevelBomAsBuilt-3.0.0``
- ``properties``: dct:type ``{"@id": "https://w3id.org/catenax/taxonomy#Submodel"}``,
  ``https://admin-shell.io/aas/3/0/HasSemantics/semanticId`` = ``{"@id": "<aspect URN>"}``

A shell descriptor's ``submodelDescriptors[i]`` carries ``semanticId.keys[0].value`` = the aspect URN
(e.g. ``urn:samm:io.catenax.single_level_bom_as_built:3.0.0#SingleLevelBomAsBuilt``) and one endpoint::

    {"interface": "SUBMODEL-3.0",
     "protocolInformation": {"href": "{provider public_url}/api/public/parts/{urlquoted globalAssetId}/submodel",
       "endpointProtocol": "HTTP", "endpointProtocolVersion": ["1.1"], "subprotocol": "DSP",
       "subprotocolBody": "id=submodels-SingleLevelBomAsBuilt-3.0.0;dspEndpoint={provider public_url}/api/dsp/2025-1",
       "subprotocolBodyEncoding": "plain"}}

Negotiate the asset named by ``id=`` at ``dspEndpoint=`` (once per supplier and aspect: the EDR serves
every twin of that aspect), then ``GET href`` (``href + "/$value"`` works too) with the EDR token. The
answer is the aspect payload; when the provider has a key it carries an eddsa-jcs-2022 ``proof``
(verify with ``connector.services.documents.verify_received``; strip ``proof`` before validating, or
use ``connector.parts.models.read_submodel(aspect_urn, document)`` which does both the stripping and
the validation and returns the typed object). 404 names the part when the twin is unknown, lacks that
aspect, or is not visible to the caller's BPN.

**Typed relationships.** ``connector.parts.models.relationships(aspect_urn, payload) -> list[Relationship]``
with ``Relationship(parent_id, child_id, quantity, unit, lifecycle, bpn, created_on)``: from a BOM
(``bpn`` = the child's businessPartner) or a usage aspect (``bpn`` = the parent's businessPartner),
any supported version.

**Loading a chain in tests.** ``connector.parts.importer.import_parts(container, items, policy=None,
access_policy=None)`` (sync; ``container`` is ``connector.services.container.Container``), or over
HTTP ``POST /management/v3/parts/import?policy=ID&accessPolicy=ID`` with the JSON array body, or
``connector parts import --config CONFIG FILE [--policy ID] [--access-policy ID]``. ``items`` is the
file's array of ``{"aspect": "<aspect URN>", "payload": {...}, "visibleTo": ["BPNL..."]}``. Default
offers: access policy ``part-data-access`` (policies/member-access.json), usage policy
``part-data-usage`` (policies/industry-core-usage.json); ``access_policy``/``policy`` name existing
policy definitions instead (e.g. a BPN-restricted access policy).

**The example chain** (``examples/supply-chain/parts/{nordguss,achsen,motorwerke}.json``): vehicles
WMW00000000000001/2 at Motorwerke (SerialPart + BOM 4.0.0, visible to no one), rear-axle modules
AX-2026-000123/124 at Achsen (SerialPart 3.0.1, BOM and usage 3.0.0, visible to Motorwerke; each holds
2 castings from Nordguss's batch NG-B-2026-11-07 and 2 bearings of Achsen's batch AX-BRG-2026-44), and
Nordguss's batch (Batch + usage 4.0.0) and casting type NG-WC-400 (PartTypeInformation 2.0.0), visible
to Achsen and Motorwerke: it is the access policy that keeps Motorwerke out in the demo's story.
"""
