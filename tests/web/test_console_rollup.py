"""The Footprints page's "Roll up" form without a browser: a BOM pasted or uploaded, the result as
a table (component, supplier, quantity, unit, footprint, contribution, status, reason) and total,
publishing only when complete (or allowed), a bad BOM refused at its field, CSRF as every form."""

from __future__ import annotations

import json

from tests.web.test_console_footprints_provenance import ACHSEN_BPN, company, footprints, post  # noqa: F401

CSV_HEADER = "productId,productName,declaredUnit,pcfExcludingBiogenicUptake\n"


def bom(*components: dict, own: float = 30) -> dict:
    return {"productId": "AX-MOD-1", "productName": "Axle module", "declaredUnit": "piece",
            "ownEmissions": {"pcfExcludingBiogenicUptake": own}, "components": list(components)}


def comp(product: str, quantity, bpn: str = ACHSEN_BPN) -> dict:
    return {"productId": product, "supplierBpn": bpn, "quantity": quantity, "unit": "piece"}


def publish_casting(console) -> str:  # type: ignore[no-untyped-def]
    r = post(console, "/ui/footprints", "/ui/footprints",
             files={"upload": ("pcf.csv", CSV_HEADER + "AX-HUB-2,Hub,piece,12.5\n", "text/csv")})
    assert r.status_code == 303, r.text
    [row] = footprints(console)
    return row.id


def test_a_pasted_bom_is_rolled_up_into_a_table_and_published(company):
    hub = publish_casting(company)
    r = post(company, "/ui/footprints/rollup", "/ui/footprints",
             data={"bom": json.dumps(bom(comp("AX-HUB-2", 2), comp("AX-NONE", 1)))})
    assert r.status_code == 200, r.text
    table = r.text.split('id="rollup-result"')[1].split("</table>")[0]
    assert "AX-HUB-2" in table and ACHSEN_BPN in table and hub[:13] in table and ">25<" in table
    assert "AX-NONE" in table and "missing" in table and "we publish no Active footprint" in table
    assert r.text.split('id="rollup-total">')[1].startswith("55 kg CO2e")  # 30 own + 2 x 12.5; the missing adds 0
    assert "1 component not had" in r.text
    assert len(footprints(company)) == 1  # nothing published without the checkbox

    r = post(company, "/ui/footprints/rollup", "/ui/footprints",
             data={"bom": json.dumps(bom(comp("AX-NONE", 1))), "publish": "on"})
    assert r.status_code == 200 and "Nothing published" in r.text and len(footprints(company)) == 1

    r = post(company, "/ui/footprints/rollup", "/ui/footprints", data={"publish": "on"},
             files={"bom_upload": ("bom.json", json.dumps(bom(comp("AX-HUB-2", 2))), "application/json")})
    assert r.status_code == 200, r.text
    assert "55 kg CO2e" in r.text and 'id="rollup-published"' in r.text
    mine = [f for f in footprints(company) if f.product_id == "AX-MOD-1"]
    assert len(mine) == 1 and mine[0].preceding_ids == [hub] and mine[0].signed["proof"]


def test_a_bad_bom_is_refused_at_its_field(company):
    r = post(company, "/ui/footprints/rollup", "/ui/footprints",
             data={"bom": json.dumps({**bom(), "declaredUnit": "kilogramm"})})
    assert r.status_code == 400 and 'id="rollup-error"' in r.text
    assert "declaredUnit" in r.text and "did you mean &#39;kilogram&#39;" in r.text
    r = post(company, "/ui/footprints/rollup", "/ui/footprints", data={"bom": "{not json"})
    assert r.status_code == 400 and "not JSON" in r.text
    r = post(company, "/ui/footprints/rollup", "/ui/footprints", data={"bom": ""})
    assert r.status_code == 400 and "choose a BOM" in r.text


def test_the_rollup_form_refuses_a_post_without_its_csrf_token(company):
    publish_casting(company)
    r = company.client.post("/ui/footprints/rollup", data={"bom": json.dumps(bom(comp("AX-HUB-2", 1))),
                                                           "publish": "on"}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text
    assert [f.product_id for f in footprints(company)] == ["AX-HUB-2"]
