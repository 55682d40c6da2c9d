"""RegisterJob validation, the BPN directory, relationship aspects and the tree pictures, without processes."""

from __future__ import annotations

import pytest

from connector.config import Peer, Settings
from connector.identity.did import DidResolver
from connector.provenance.aspects import AspectError, read_links
from connector.provenance.directory import Directory, NotInDirectory
from connector.provenance.job import JobInputError, read_register_job
from connector.provenance.render import tree_html, tree_lines
from connector.provenance.samples import BOM, USAGE, bom, usage

PART = "urn:uuid:0cca71fb-80ff-4d36-8db1-4751129478be"
CHILD = "urn:uuid:2c8de93a-06b0-46d8-8e4f-13f94294402c"
NGUSS, ACHSEN, MOTORWERKE = "BPNL0000000NGUSS", "BPNL00000ACHSEAG", "BPNL00000MOTORWK"


def register(**body) -> object:  # type: ignore[no-untyped-def]
    return read_register_job({"key": {"globalAssetId": PART, "bpn": ACHSEN}, **body})


def test_a_register_job_is_read_with_irs_defaults():
    job = register()
    assert (job.direction, job.depth, job.bom_lifecycle, job.collect_aspects, job.aspects) == (
        "downward", 100, "asBuilt", False, ())
    assert job.to_irs()["aspects"] == ["SingleLevelBomAsBuilt"]
    up = register(direction="upward", depth=3, aspects=["urn:samm:io.catenax.batch:4.0.0#Batch", "SerialPart"],
                  collectAspects=True)
    assert up.relationship_aspect == "SingleLevelUsageAsBuilt" and up.depth == 3 and len(up.aspects) == 2


@pytest.mark.parametrize("body, message", [
    ({"key": {"globalAssetId": PART, "bpn": ACHSEN}, "depht": 2}, "depht: unknown field; did you mean 'depth'?"),
    ({"key": {"globalAssetId": PART, "bnp": ACHSEN}}, "key.bnp: unknown field; did you mean 'bpn'?"),
    ({"key": {"globalAssetId": PART, "bpn": "ACHSEN"}}, "key.bpn: expected the owner's BPNL"),
    ({"key": {"bpn": ACHSEN}}, "key.globalAssetId: expected the part's id"),
    ({}, "key: is required"),
    ({"key": {"globalAssetId": PART, "bpn": ACHSEN}, "depth": 0}, "depth: expected a whole number from 1 to 100"),
    ({"key": {"globalAssetId": PART, "bpn": ACHSEN}, "depth": True}, "depth: expected a whole number"),
    ({"key": {"globalAssetId": PART, "bpn": ACHSEN}, "bomLifecycle": "asPlanned"}, "(asPlanned and asSpecified are not served)"),
    ({"key": {"globalAssetId": PART, "bpn": ACHSEN}, "aspects": ["not an urn!"]}, "aspects[0]: expected an aspect URN"),
    ({"key": {"globalAssetId": PART, "bpn": ACHSEN}, "collectAspects": "yes"}, "collectAspects: expected true or false"),
    ({"key": {"globalAssetId": PART, "bpn": ACHSEN}, "callbackUrl": "https://x/cb"}, "callbackUrl: not supported"),
    ([], "body: expected a RegisterJob"),
])
def test_a_bad_register_job_names_its_field(body, message):
    with pytest.raises(JobInputError) as caught:
        read_register_job(body)
    assert message in str(caught.value)


def test_the_directory_knows_peers_by_bpn_and_reads_a_dsp_url_from_a_did_document():
    did = "did:web:nordguss.example"
    document = {"id": did, "service": [{"id": did + "#dsp-catalog", "type": "CatalogService",
                                        "serviceEndpoint": "https://nordguss.example/api/dsp/2025-1/catalog"}]}
    settings = Settings(participant_id="did:web:motorwerke.example", bpn=MOTORWERKE, api_key="k", peers=[
        Peer(id="did:web:achsen.example", bpn=ACHSEN, dsp_url="https://achsen.example/api/dsp/2025-1"),
        Peer(id=did, bpn=NGUSS), Peer(id="did:web:nobody.example")])
    directory = Directory(settings, DidResolver(documents=[document], offline=True).resolve)
    [achsen] = directory.lookup(ACHSEN)
    assert (achsen.participant_id, achsen.dsp_url, achsen.source) == (
        "did:web:achsen.example", "https://achsen.example/api/dsp/2025-1", "config")
    [nordguss] = directory.lookup(NGUSS)
    assert (nordguss.dsp_url, nordguss.source) == ("https://nordguss.example/api/dsp/2025-1", "did")
    assert directory.is_own(MOTORWERKE) and not directory.is_own(ACHSEN)
    with pytest.raises(NotInDirectory) as caught:
        directory.lookup("BPNL000000000XYZ")
    assert "no connector is known for BPNL000000000XYZ" in str(caught.value) and ACHSEN in str(caught.value)


def test_relationship_aspects_of_either_version_become_parent_child_links():
    [down] = read_links(BOM, bom(PART, [(CHILD, NGUSS, 2)], [])["payload"], PART, limit=10)
    assert (down.parent, down.child, down.bpn, down.quantity) == (PART, CHILD, NGUSS, 2.0)
    assert down.to_irs()["linkedItem"]["quantity"] == {"quantityNumber": 2.0, "measurementUnit": {
        "lexicalValue": "piece", "datatypeURI": "urn:samm:org.eclipse.esmf.samm:unit:2.1.0#piece"}}
    [up] = read_links(USAGE, usage(CHILD, [(PART, ACHSEN, 2)], [])["payload"], CHILD, limit=10)
    assert (up.parent, up.child, up.bpn, up.next_part("upward")) == (PART, CHILD, ACHSEN, PART)
    old = {"catenaXId": PART, "childItems": [{"catenaXId": CHILD, "businessPartner": NGUSS, "hasAlternatives": False,
                                              "quantity": {"value": 2.0, "unit": "unit:piece"},
                                              "createdOn": "2026-11-12T09:30:00Z"}]}
    [three] = read_links("urn:samm:io.catenax.single_level_bom_as_built:3.0.0#SingleLevelBomAsBuilt", old, PART, limit=1)
    assert three.child == CHILD


@pytest.mark.parametrize("payload, node, message", [
    (bom(PART, [(CHILD, NGUSS, 1)] * 3, [])["payload"], PART, "3 items, more than the per-node limit of 2"),
    (bom(PART, [(CHILD, NGUSS, 1)], [])["payload"], CHILD, "expected the SingleLevelBomAsBuilt of"),
    ({"globalAssetId": PART, "childItems": [{"globalAssetId": CHILD}]}, PART, "businessPartner"),
    ("not an object", PART, "payload"),
])
def test_a_malformed_relationship_aspect_is_refused_saying_why(payload, node, message):
    with pytest.raises(AspectError) as caught:
        read_links(BOM, payload, node, limit=2)
    assert message in str(caught.value)


ANSWER = {
    "job": {"id": "j1", "state": "COMPLETED", "globalAssetId": "urn:uuid:v", "parameter": {"direction": "downward"}},
    "relationships": [
        {"catenaXId": "urn:uuid:v", "linkedItem": {"childCatenaXId": "urn:uuid:m", "quantity": {"quantityNumber": 1}}},
        {"catenaXId": "urn:uuid:m", "linkedItem": {"childCatenaXId": "urn:uuid:c", "quantity": {"quantityNumber": 2}}}],
    "tombstones": [{"catenaXId": "urn:uuid:c", "businessPartnerNumber": NGUSS,
                    "processingError": {"errorDetail": "no offer visible to BPNL00000MOTORWK at BPNL0000000NGUSS"}}],
    "nodes": [{"catenaXId": "urn:uuid:v", "bpn": MOTORWERKE, "depth": 0, "label": "WMW1", "signature": "own"},
              {"catenaXId": "urn:uuid:m", "bpn": ACHSEN, "depth": 1, "label": "AX-1", "signature": "verified"},
              {"catenaXId": "urn:uuid:c", "bpn": NGUSS, "depth": 2, "signature": None}],
    "bpns": [{"manufacturerId": MOTORWERKE, "manufacturerName": "Motorwerke AG"}],
}


def test_the_tree_as_text_names_companies_signatures_and_refusals():
    assert tree_lines(ANSWER, {ACHSEN: "Achsen AG"}) == [
        "WMW1  [Motorwerke AG]  ● own data",
        "   └─ AX-1  [Achsen AG]  × 1  ✔ signed",
        "      └─ urn:uuid:c  [BPNL0000000NGUSS]  × 2",
        "         ✘ no offer visible to BPNL00000MOTORWK at BPNL0000000NGUSS",
    ]


def test_the_picture_groups_by_company_and_marks_the_denied_branch():
    page = tree_html(ANSWER, {ACHSEN: "Achsen AG"})
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http://" not in page.split("<svg", 1)[0]
    assert page.count('class="band') == 3 and ">Achsen AG<" in page and ">Motorwerke AG<" in page
    assert page.count("node denied") == 1 and "✘ no offer visible to BPNL00000MOTORWK" in page
    assert page.count('class="edge"') == 2
