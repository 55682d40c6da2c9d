"""IRI constants for the vocabularies the connector speaks.

Namespaces end with their separator ("/" or "#") so that ``NS + "term"``
yields the full IRI; context constants are the IRIs documents put in
``@context`` (served by :mod:`connector.jsonld.loader`).
"""

from __future__ import annotations

# Dataspace Protocol 2025-1
DSPACE_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
DSPACE_ODRL_PROFILE_CONTEXT = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"
DSPACE_NS = "https://w3id.org/dspace/2025/1/"

# W3C vocabularies
ODRL_NS = "http://www.w3.org/ns/odrl/2/"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
XSD = "http://www.w3.org/2001/XMLSchema#"

# EDC management API
EDC_CONTEXT = "https://w3id.org/edc/v0.0.1"
EDC_NS = "https://w3id.org/edc/v0.0.1/ns/"

# Tractus-X EDR token refresh vocabulary
TX_AUTH_CONTEXT = "https://w3id.org/tractusx/auth/v1.0.0"
TX_AUTH_NS = "https://w3id.org/tractusx/auth/"

# Factory-X ADR 012: the EDR properties of an MQTT stream (Mqtt-PULL), compacted as ``dsp-mqtt:``
DSP_MQTT_NS = "https://w3id.org/dspace/2025/1/mqtt-pull/"

# Catena-X ODRL policy profile (2025-09)
CX_POLICY_CONTEXT = "https://w3id.org/catenax/2025/9/policy/context.jsonld"
CX_POLICY_ODRL_CONTEXT = "https://w3id.org/catenax/2025/9/policy/odrl.jsonld"
CX_POLICY_NS = "https://w3id.org/catenax/2025/9/policy/"
