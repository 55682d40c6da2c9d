"""Console pages without a browser: each write goes through the services and a refusal is shown at
its field, on the page, with nothing stored (never a 500)."""

from __future__ import annotations

import re

from connector.store.models import Asset, BusinessPartnerGroup, ContractDefinition, StoredPeer
from tests.web.test_console_security import console  # noqa: F401  (the fixture)


def post(console, path: str, data: dict, page: str):  # type: ignore[no-untyped-def]  # noqa: F811
    console.login()
    return console.client.post(path, data={**data, "csrf": console.csrf(page)}, follow_redirects=False)


def field_error(html: str) -> str:
    found = re.search(r'<p class="field-error" role="alert">([^<]*)</p>', html)
    return found.group(1) if found else ""


def stored(console, model, key):  # type: ignore[no-untyped-def]  # noqa: F811
    with console.services.db.read() as session:
        return session.get(model, key)


def test_a_file_asset_without_files_dir_is_refused_at_the_file_field(console):  # noqa: F811
    r = post(console, "/ui/assets", {"id": "drawing", "kind": "file"}, "/ui/assets")
    assert r.status_code == 400
    assert "files_dir" in field_error(r.text)
    assert stored(console, Asset, "drawing") is None


def test_a_document_that_is_not_json_is_refused_at_its_field(console):  # noqa: F811
    r = post(console, "/ui/assets", {"id": "doc", "kind": "document", "document": "{not json"}, "/ui/assets")
    assert r.status_code == 400 and "not valid JSON" in field_error(r.text)
    assert 'value="doc"' in r.text  # what was typed is kept
    assert stored(console, Asset, "doc") is None


def test_a_contract_definition_naming_no_policy_is_refused(console):  # noqa: F811
    r = post(console, "/ui/contracts", {"id": "cd-1", "access": "", "usage": ""}, "/ui/contracts")
    assert r.status_code == 400 and "accessPolicyId" in field_error(r.text)
    assert stored(console, ContractDefinition, "cd-1") is None


def test_groups_refuse_a_malformed_bpn_and_store_a_good_one(console):  # noqa: F811
    r = post(console, "/ui/groups", {"bpn": "NOTABPN", "groups": "gold"}, "/ui/groups")
    assert r.status_code == 400 and "Business Partner Number" in field_error(r.text)
    r = post(console, "/ui/groups", {"bpn": "BPNL00000003AYRE", "groups": "gold, pilot"}, "/ui/groups")
    assert r.status_code == 303
    assert stored(console, BusinessPartnerGroup, "BPNL00000003AYRE").groups == ["gold", "pilot"]


def test_peers_are_added_and_removed_at_run_time_and_config_peers_stay(console):  # noqa: F811
    r = post(console, "/ui/peers", {"id": "did:web:other.test", "dsp_url": "http://127.0.0.1:9/api/dsp/2025-1",
                                    "bpn": "BPNL00000003CML1", "claims": '{"membership": true}'}, "/ui/peers")
    assert r.status_code == 303, r.text
    assert stored(console, StoredPeer, "did:web:other.test").bpn == "BPNL00000003CML1"
    page = console.client.get("/ui/peers").text
    assert "did:web:other.test" in page and "no answer" in page  # nobody listens on port 9
    r = post(console, "/ui/peers", {"id": "not a did"}, "/ui/peers")
    assert r.status_code == 400 and "id" in field_error(r.text)
    r = post(console, "/ui/peers/did:web:partner.test/remove", {}, "/ui/peers")
    assert r.status_code == 409 and "config" in r.text
    r = post(console, "/ui/peers/did:web:other.test/remove", {}, "/ui/peers")
    assert r.status_code == 303
    assert stored(console, StoredPeer, "did:web:other.test") is None


def test_unknown_things_are_a_page_that_says_so(console):  # noqa: F811
    console.login()
    for path, said in (("/ui/policies/nope", "does not exist"), ("/ui/negotiations/nope", "no negotiation"),
                       ("/ui/transfers/nope/data", "no transfer"), ("/ui/agreements/nope", "no agreement"),
                       ("/ui/policies/new?template=nope", "no template")):
        r = console.client.get(path)
        assert r.status_code in (400, 404), path
        assert said in r.text, path


def test_an_uploaded_file_is_kept_only_when_its_asset_is_stored(console, tmp_path):  # noqa: F811
    files = tmp_path / "files"
    console.services.settings.dataplane.files_dir = str(files)
    console.login()

    def upload(asset_id: str, body: bytes):  # type: ignore[no-untyped-def]
        return console.client.post("/ui/assets", data={"id": asset_id, "kind": "file", "csrf": console.csrf()},
                                   files={"upload": ("drawing.step", body, "application/step")},
                                   follow_redirects=False)

    assert upload("drawing", b"first").status_code == 303
    assert (files / "drawing" / "drawing.step").read_bytes() == b"first"
    assert stored(console, Asset, "drawing").data_address["path"] == "drawing/drawing.step"
    r = upload("drawing", b"second")  # the same id again: refused, and the stored file is untouched
    assert r.status_code == 400 and "already exists" in field_error(r.text)
    assert (files / "drawing" / "drawing.step").read_bytes() == b"first"
    assert [p.name for p in (files / "drawing").iterdir()] == ["drawing.step"]


def test_a_policy_is_created_then_changed_in_the_editor(console):  # noqa: F811
    from connector.store.models import PolicyDefinition

    fields = {"@type": "Set", "permission[0].action": "access",
              "permission[0].constraint[0].leftOperand": "Membership",
              "permission[0].constraint[0].operator": "eq", "permission[0].constraint[0].rightOperand": "active"}
    r = post(console, "/ui/policies", {"policy_id": "members", **fields}, "/ui/policies/new")
    assert r.status_code == 303 and r.headers["location"] == "/ui/policies/members"
    page = console.client.get("/ui/policies/members/edit").text
    assert 'name="editing" value="1"' in page and "readonly" in page
    changed = {**fields, "permission[0].constraint[0].leftOperand": "BusinessPartnerNumber",
               "permission[0].constraint[0].operator": "isAnyOf",
               "permission[0].constraint[0].rightOperand": '["BPNL00000003AYRE"]'}
    r = post(console, "/ui/policies", {"policy_id": "members", "editing": "1", **changed}, "/ui/policies/members/edit")
    assert r.status_code == 303
    stored_policy = stored(console, PolicyDefinition, "members").policy
    assert stored_policy["permission"][0]["constraint"][0]["rightOperand"] == ["BPNL00000003AYRE"]
    # a new policy under an id that exists is refused at the id field
    r = post(console, "/ui/policies", {"policy_id": "members", **fields}, "/ui/policies/new")
    assert r.status_code == 400 and "already exists" in r.text


def test_a_download_from_an_edr_pointing_inside_our_network_is_refused(console):  # noqa: F811
    from connector.store.models import TransferProcess

    with console.services.db.write() as session:
        session.add(TransferProcess(
            id="tp-1", role="CONSUMER", state="STARTED", counterparty_id="did:web:seller.test",
            counterparty_address="http://seller.test/api/dsp/2025-1", agreement_id="a-1", asset_id="pcf",
            transfer_type="HttpData-PULL", created_at=1, updated_at=1,
            data_address={"endpointType": "https://w3id.org/idsa/v4.1/HTTP",
                          "endpoint": "http://169.254.169.254/latest/meta-data",
                          "endpointProperties": [{"name": "authorization", "value": "token"}]}))
    console.login()
    assert 'id="download"' in console.client.get("/ui/transfers/tp-1").text
    r = console.client.get("/ui/transfers/tp-1/data")
    assert r.status_code == 400
    assert "endpoint is refused" in r.text and "link-local" in r.text


def test_an_asset_is_deleted_from_its_row(console):  # noqa: F811
    r = post(console, "/ui/assets", {"id": "doc 1", "kind": "document", "document": "{}"}, "/ui/assets")
    assert r.status_code == 303
    page = console.client.get("/ui/assets").text
    assert 'action="/ui/assets/doc%201/delete" data-confirm="Delete asset doc 1?"' in page
    r = post(console, "/ui/assets/doc%201/delete", {}, "/ui/assets")
    assert r.status_code == 303 and stored(console, Asset, "doc 1") is None


def test_an_assets_page_says_who_offers_it_and_why_a_partner_would_not_see_it(console):  # noqa: F811
    fields = {"@type": "Set", "permission[0].action": "access",
              "permission[0].constraint[0].leftOperand": "BusinessPartnerNumber",
              "permission[0].constraint[0].operator": "isAnyOf",
              "permission[0].constraint[0].rightOperand": '["BPNL00000003CML1"]'}
    assert post(console, "/ui/policies", {"policy_id": "only-cml1", **fields}, "/ui/policies/new").status_code == 303
    assert post(console, "/ui/assets", {"id": "pcf", "kind": "document", "document": "{}"}, "/ui/assets") \
        .status_code == 303
    page = console.client.get("/ui/assets/pcf").text
    assert "No contract definition offers it" in page
    assert post(console, "/ui/contracts", {"id": "cd", "asset": "pcf", "access": "only-cml1", "usage": "only-cml1"},
                "/ui/contracts").status_code == 303
    page = console.client.get("/ui/assets/pcf", params={"explain_for": "did:web:partner.test"}).text
    assert "<code>cd</code>" in page and "hidden" in page
    assert "BusinessPartnerNumber" in page and "BPNL00000003AYRE" in page  # its BPN, from the config's peer entry
