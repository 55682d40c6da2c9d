"""Part provenance: traversal jobs over the suppliers' connectors, in the Item Relationship Service's shapes.

An OEM asks where a part came from (downward, SingleLevelBomAsBuilt) or which products hold it
(upward, SingleLevelUsageAsBuilt). The job asks the owner of each part, hop by hop, under that
owner's policy; there is no central store. Per node: the owner's connector is found from its BPN
in our ``directory`` (our peers' config and their did:web service entries), its Digital Twin
Registry is negotiated (once per supplier; agreements and EDRs reused), the twin is looked up,
the relationship aspect and the requested aspects are fetched and their signatures checked, and
the children become new nodes. Suppliers are asked concurrently.

- ``aspects``: aspect URNs, the relationship aspect per direction, parsing BOM/usage payloads (3.x and 4.0).
- ``job``: the RegisterJob body (validated), and the IRS answer shapes.
- ``graph``: what a traversal found (nodes, relationships, shells, submodels, tombstones).
- ``directory``: BPN → connector (DSP URL, participant id).
- ``suppliers``: talking to one supplier (over DSP and its data plane) or to our own parts.
- ``traversal``: the walk itself (depth, cycles, child limit, timeouts, the deadline).
- ``jobs``: jobs as persisted rows, advanced by a worker; cancel; partial results.
- ``render``: the tree as text and as a self-contained HTML/SVG picture.
"""
