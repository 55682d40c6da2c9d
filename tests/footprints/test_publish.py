"""Publishing footprints: validated, signed, stored and offered, all or nothing; updates per PACT v3."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from connector.services.footprints import (
    FootprintRefused,
    FootprintService,
    Incoming,
    NoSigningKey,
    read_upload,
)
from connector.store.models import Asset, ContractDefinition, Footprint, FootprintRecipient, PcfExchangeRequest
from tests.footprints.conftest import casting

CSV_HEADER = "productId,productName,declaredUnit,pcfExcludingBiogenicUptake,productMassPerDeclaredUnit\n"


def count(db, model) -> int:
    with db.read() as session:
        return len(list(session.exec(select(model))))


def upload(service: FootprintService, content: str, csv: bool = False):
    return read_upload(content, csv=csv, company_name="Nordguss GmbH", bpn="BPNL0000000NGUSS", now=service.clock())


def test_a_footprint_is_stored_signed_and_offered(service, identity, db) -> None:
    [row] = service.publish([Incoming("[0]", casting())])
    assert row.product_id == "NG-WC-400" and row.status == "Active" and row.asset_id == "pcf-NG-WC-400"
    assert row.signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert identity.verify_signed(row.signed, signer=identity.did, check_jsonld=False).ok
    with db.read() as session:
        asset = session.get(Asset, "pcf-NG-WC-400")
        offer = session.get(ContractDefinition, "pcf-NG-WC-400-offer")
        assert asset.data_address == {"type": "PontisFootprint", "productId": "NG-WC-400"}
        assert asset.properties["http://purl.org/dc/terms/type"] == {"@id": "https://w3id.org/catenax/taxonomy#Submodel"}
        assert (offer.contract_policy_id, offer.access_policy_id) == ("pcf-exchange-usage", "member-access")
        assert session.get(Asset, "pcf-exchange").properties["http://purl.org/dc/terms/type"] == {
            "@id": "https://w3id.org/catenax/taxonomy#PcfExchange"}


def test_the_same_footprint_again_changes_nothing(service, db) -> None:
    document = casting()
    service.publish([Incoming("[0]", document)])
    assert service.publish([Incoming("[0]", document)]) == []
    assert count(db, Footprint) == 1


def test_an_update_deprecates_the_old_and_tells_its_recipients(service, db) -> None:
    [old] = service.publish([Incoming("[0]", casting(12.5))])
    with db.write() as session:
        service.record_delivery(session, old.id, "did:web:localhost%3A8412", "BPNL00000ACHSEAG", 1)
    [new] = service.publish([Incoming("[0]", casting(11.9))])
    assert new.id != old.id and new.preceding_ids == [old.id]
    assert new.document["precedingPfIds"] == [{"id": old.id}]
    old = service.get(old.id)
    assert (old.status, old.superseded_by, old.signed["status"]) == ("Deprecated", new.id, "Deprecated")
    assert service.for_product("NG-WC-400").id == new.id
    with db.read() as session:
        [notice] = session.exec(select(PcfExchangeRequest)).all()
    assert (notice.role, notice.update, notice.counterparty_id, notice.footprint_id, notice.status) == (
        "supplier", True, "did:web:localhost%3A8412", new.id, "pending")


def test_a_changed_footprint_under_the_same_id_is_refused(service) -> None:
    document = casting()
    service.publish([Incoming("[0]", document)])
    changed = {**document, "pcf": {**document["pcf"], "pcfExcludingBiogenicUptake": 13}}
    with pytest.raises(FootprintRefused, match=r"\[0\]: id: .* needs a new id"):
        service.publish([Incoming("[0]", changed)])


def test_csv_rows_become_footprints(service) -> None:
    rows = service.publish(upload(service, CSV_HEADER + "NG-WC-400,Casting,piece,12.5,4.2\nNG-WC-500,Casting 2,kilogram,3,\n",
                                  csv=True))
    assert [(r.product_id, r.document["pcf"]["pcfExcludingBiogenicUptake"]) for r in rows] == [
        ("NG-WC-400", 12.5), ("NG-WC-500", 3)]
    assert rows[0].document["pcf"]["productMassPerDeclaredUnit"] == 4.2


# --- refusals: the file is refused as a whole, naming row (or item) and field; nothing is stored ----------

def assert_nothing_stored(db) -> None:
    assert count(db, Footprint) == 0 and count(db, Asset) == 0 and count(db, ContractDefinition) == 0


def refused(service: FootprintService, items) -> list[str]:
    with pytest.raises(FootprintRefused) as caught:
        service.publish(items)
    return caught.value.problems


def test_a_schema_invalid_footprint_refuses_the_file(service, db) -> None:
    bad = casting(product_id="NG-WC-500")
    del bad["companyName"]
    problems = refused(service, [Incoming("[0]", casting()), Incoming("[1]", bad)])
    assert any(p.startswith("[1]: ") and "companyName" in p for p in problems), problems
    assert_nothing_stored(db)


def test_a_negative_pcf_is_refused(service, db) -> None:
    bad = casting()
    bad["pcf"]["pcfExcludingBiogenicUptake"] = -1
    problems = refused(service, [Incoming("[0]", bad)])
    assert any("pcf.pcfExcludingBiogenicUptake" in p for p in problems), problems
    assert_nothing_stored(db)


def test_an_unknown_declared_unit_is_refused(service, db) -> None:
    bad = casting()
    bad["pcf"]["declaredUnitOfMeasurement"] = "pieces"
    problems = refused(service, [Incoming("[0]", bad)])
    assert any("pcf.declaredUnitOfMeasurement" in p for p in problems), problems
    assert_nothing_stored(db)


@pytest.mark.parametrize(("row", "where"), [
    ("NG-WC-500,Casting 2,piece,twelve,", "row 3, column pcfExcludingBiogenicUptake"),
    ("NG-WC-500,Casting 2,pieces,12,", "row 3, column declaredUnit"),
    ("NG-WC-500,Casting 2,piece,-3,", "row 3, column pcfExcludingBiogenicUptake"),
    ("NG-WC-500,,piece,3,", "row 3, column productName"),
    ("NG-WC-500,Casting 2,piece,3,1,extra", "row 3, column (extra)"),
])
def test_a_broken_csv_row_is_named_and_nothing_is_stored(service, db, row, where) -> None:
    with pytest.raises(FootprintRefused) as caught:
        service.publish(upload(service, CSV_HEADER + "NG-WC-400,Casting,piece,12.5,4.2\n" + row + "\n", csv=True))
    assert any(p.startswith(where) for p in caught.value.problems), caught.value.problems
    assert_nothing_stored(db)


def test_an_unknown_csv_column_names_the_closest(service) -> None:
    with pytest.raises(FootprintRefused, match="did you mean 'declaredUnit'"):
        upload(service, "productId,productName,declaredUnits,pcfExcludingBiogenicUptake\nA,B,piece,1\n", csv=True)


def test_an_unknown_policy_is_refused_naming_the_closest(service, db) -> None:
    service.publish([Incoming("[0]", casting())])
    with pytest.raises(FootprintRefused, match="did you mean 'pcf-exchange-usage'"):
        service.publish([Incoming("[0]", casting(product_id="B"))], usage_policy="pcf-exchange-usag")


def test_other_versions_are_read_into_8_0_0(service) -> None:
    from connector.pcf.models import PcfFormat, from_internal

    pact3 = from_internal(casting(), PcfFormat.PACT3)
    [row] = service.publish(upload(service, json.dumps([pact3])))
    assert row.source_format == "pact-3" and row.document["pcf"]["pcfExcludingBiogenicUptake"] == 12.5


def test_without_a_key_nothing_is_signed_or_stored(db) -> None:
    service = FootprintService(db, company_name="X", bpn="BPNL0000000NGUSS", identity=None, clock=lambda: 1)
    with pytest.raises(NoSigningKey, match="key_file"):
        service.publish([Incoming("[0]", casting())])
    assert_nothing_stored(db)


def test_recipients_are_remembered_once(service, db) -> None:
    [row] = service.publish([Incoming("[0]", casting())])
    for _ in range(2):
        with db.write() as session:
            service.record_delivery(session, row.id, "did:web:a", "BPNL00000ACHSEAG", 1)
    assert count(db, FootprintRecipient) == 1


def test_the_served_copy_is_plain_8_0_0(service) -> None:
    from connector.pcf.models import CARRIED_KEY, PcfFormat, from_internal, validate

    pact3 = from_internal(casting(), PcfFormat.PACT3)
    pact3["x-acme-plant"] = "Gießerei 2"  # an extension 8.0.0 cannot hold: carried inside, never served
    [row] = service.publish(upload(service, json.dumps([pact3])))
    assert CARRIED_KEY in row.document
    served = {k: v for k, v in row.signed.items() if k != "proof"}
    assert CARRIED_KEY not in served and validate(served, PcfFormat.CX8) == []


def test_a_semicolon_csv_with_decimal_commas_is_read(service) -> None:
    text = "productId;productName;declaredUnit;pcfExcludingBiogenicUptake\nNG-WC-400;Gussteil;piece;12,5\n"
    [row] = service.publish(upload(service, text, csv=True))
    assert row.document["pcf"]["pcfExcludingBiogenicUptake"] == 12.5
