"""The Footprints and Provenance pages without a browser: published, received and exchanged
footprints, an import whose refusal names row and field (nothing stored), a traversal job started
from the form whose tree is shown with its refused branch and reason, and CSRF on both forms."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import IdentitySettings, Settings
from connector.pcf.document import new_footprint
from connector.services.container import build
from connector.store.models import Footprint
from connector.web.provenance import TREE_CSP
from connector.web.security import CSP
from tests.harness import Clock, settle
from tests.web.test_console_security import KEY, START_MS, Console

EXAMPLE_PARTS = Path(__file__).resolve().parents[2] / "examples" / "supply-chain" / "parts" / "achsen.json"
ACHSEN_BPN, NORDGUSS_BPN = "BPNL00000ACHSEAG", "BPNL0000000NGUSS"
AXLE = "AX-2026-000123"  # the rear-axle module's serial number; its casting comes from Nordguss
CSV_HEADER = "productId,productName,declaredUnit,pcfExcludingBiogenicUptake\n"


@pytest.fixture
def company(tmp_path) -> Iterator[Console]:
    """Achsen's connector in-process, with a signing key and its parts imported, its workers running."""
    settings = Settings(participant_id="did:web:localhost%3A8412", bpn=ACHSEN_BPN, name="Achsen AG", api_key=KEY,
                        database_url=f"sqlite:///{tmp_path / 'ui.db'}",
                        identity=IdentitySettings(key_file=str(tmp_path / "keys.json"), generate_key=True))
    clock = Clock(START_MS)
    services = build(settings, clock=clock)
    with TestClient(create_app(settings, services, run_worker=True)) as client:
        services.parts.importer.run(json.loads(EXAMPLE_PARTS.read_text()))
        console = Console(client, clock, services)
        console.login()
        yield console


def post(console: Console, path: str, page: str, **kwargs):  # type: ignore[no-untyped-def]
    data = {**kwargs.pop("data", {}), "csrf": console.csrf(page)}
    return console.client.post(path, data=data, follow_redirects=False, **kwargs)


def footprints(console: Console) -> list[Footprint]:
    with console.services.db.read() as session:
        from sqlmodel import select

        return list(session.exec(select(Footprint)))


def test_an_imported_csv_is_listed_signed_and_its_detail_names_what_it_replaced(company):
    r = post(company, "/ui/footprints", "/ui/footprints",
             files={"upload": ("pcf.csv", CSV_HEADER + "AX-RM-7,Rear-axle module,piece,41.5\n", "text/csv")})
    assert r.status_code == 303, r.text
    page = company.client.get("/ui/footprints").text
    assert "1 footprint signed and published" in page
    [first] = footprints(company)
    assert "AX-RM-7" in page and "41.5" in page and "Active" in page and "signed" in page
    # an update names the first in precedingPfIds: the first becomes Deprecated, the new one links to it
    update = new_footprint(product_id="AX-RM-7", product_name="Rear-axle module", company_name="Achsen AG",
                           company_bpn=ACHSEN_BPN, declared_unit="piece", pcf_excluding_biogenic_uptake=39.0,
                           now=datetime(2027, 1, 1, tzinfo=UTC),
                           preceding_ids=[first.id])
    r = post(company, "/ui/footprints", "/ui/footprints", data={"text": json.dumps([update]), "format": "json"})
    assert r.status_code == 303, r.text
    page = company.client.get("/ui/footprints").text
    assert "Deprecated" in page and "39" in page
    detail = company.client.get(f"/ui/footprints/{update['id']}")
    assert detail.status_code == 200
    assert f'href="/ui/footprints/{first.id}"' in detail.text and "Deprecated" in detail.text
    assert "eddsa-jcs-2022" in detail.text and "&#34;proof&#34;" in detail.text  # the signed document as served
    assert company.client.get("/ui/footprints/nope").status_code == 404


def test_a_refused_import_names_row_and_field_and_stores_nothing(company):
    bad = CSV_HEADER + "AX-RM-7,Rear-axle module,piece,41.5\nAX-RM-8,Other,pieces,3\n"
    r = post(company, "/ui/footprints", "/ui/footprints", files={"upload": ("pcf.csv", bad, "text/csv")})
    assert r.status_code == 400
    problems = re.search(r'id="import-problems">(.*?)</div>', r.text, re.S).group(1)
    assert "<td>row 3</td><td><code>declaredUnit</code></td>" in problems
    r = post(company, "/ui/footprints", "/ui/footprints", data={"text": '[{"specVersion": "3.0.0"}]', "format": "json"})
    assert r.status_code == 400 and "<td>[0]</td>" in r.text
    r = post(company, "/ui/footprints", "/ui/footprints", data={"text": "", "format": "json"})
    assert r.status_code == 400 and "choose a JSON or CSV file" in r.text
    r = post(company, "/ui/footprints", "/ui/footprints", data={"policy": "no-such-policy"},
             files={"upload": ("pcf.csv", CSV_HEADER + "AX-RM-7,Rear-axle module,piece,41.5\n", "text/csv")})
    assert r.status_code in (400, 404) and "no-such-policy" in r.text and 'class="field-error"' in r.text
    assert footprints(company) == []


def test_received_footprints_and_exchanges_are_listed(company, tmp_path):
    from connector.identity.dataintegrity import sign
    from connector.identity.wallet import new_key_file
    from connector.services.pcf_exchange import accept_footprint
    from connector.store.models import PcfExchangeRequest

    key = new_key_file(tmp_path / "supplier.keys.json", "did:key:").active
    casting = new_footprint(product_id="NG-WC-400", product_name="Wheel-carrier casting", company_name="Nordguss",
                            company_bpn=NORDGUSS_BPN, declared_unit="piece", pcf_excluding_biogenic_uptake=12.5,
                            now=datetime(2026, 11, 7, tzinfo=UTC))
    document = sign(casting, key, cryptosuite="eddsa-jcs-2022", check_jsonld=False)
    accept_footprint(company.services, key.controller, NORDGUSS_BPN, document, "pull", None, "NG-WC-400")
    with company.services.db.write() as session:
        session.add(PcfExchangeRequest(role="customer", request_id="req-1", counterparty_id=key.controller,
                                       counterparty_bpn=NORDGUSS_BPN, product_id="NG-WC-400", status="failed",
                                       error="the supplier answered 503", attempts=3))
    page = company.client.get("/ui/footprints").text
    received = re.search(r'id="received">(.*?)</table>', page, re.S).group(1)
    assert "NG-WC-400" in received and key.controller in received and NORDGUSS_BPN in received
    assert key.id in received  # the verification method that verified
    exchanges = re.search(r'id="exchanges">(.*?)</table>', page, re.S).group(1)
    assert "customer" in exchanges and "the supplier answered 503" in exchanges and "failed" in exchanges


def test_the_footprint_import_refuses_a_form_without_its_csrf_token(company):
    r = company.client.post("/ui/footprints", data={"text": "[]"}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text
    r = company.client.post("/ui/provenance", data={"part": AXLE, "csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert footprints(company) == [] and company.client.get("/ui/provenance").text.count("/ui/provenance/") == 0


def wait_done(console: Console, job_id: str) -> str:
    def ended() -> str | None:
        state = console.client.app.state.provenance_jobs.get(job_id, with_result=False).state
        return state if state in ("COMPLETED", "ERROR", "CANCELED") else None

    return settle(until=ended, timeout=30, what=f"job {job_id} to end")


def test_a_job_started_from_the_form_shows_its_tree_and_the_refused_branch(company):
    r = post(company, "/ui/provenance", "/ui/provenance", data={"part": AXLE, "bpn": "", "direction": "downward"})
    assert r.status_code == 303, r.text
    job_id = r.headers["location"].rsplit("/", 1)[1]
    assert wait_done(company, job_id) == "COMPLETED"
    listing = company.client.get("/ui/provenance").text
    assert f"/ui/provenance/{job_id}" in listing and "COMPLETED" in listing
    page = company.client.get(f"/ui/provenance/{job_id}")
    assert page.headers["content-security-policy"] == CSP and "frame-src 'self'" in CSP
    assert f'<iframe class="tree-frame" src="/ui/provenance/{job_id}/tree.html" sandbox=""' in page.text
    stones = re.search(r'<table class="table" id="tombstones">(.*?)</table>', page.text, re.S).group(1)
    assert NORDGUSS_BPN in stones and 'class="small reason"' in stones  # the casting's owner is unknown here
    tree = company.client.get(f"/ui/provenance/{job_id}/tree.html")
    assert tree.status_code == 200 and "<svg" in tree.text and "AX-RM-7" in tree.text and "denied" in tree.text
    assert tree.headers["content-security-policy"] == TREE_CSP and "script" not in TREE_CSP
    assert tree.headers["x-frame-options"] == "SAMEORIGIN"
    assert "<script" not in tree.text


def test_a_job_for_an_unknown_part_or_bad_owner_is_refused_at_its_field(company):
    r = post(company, "/ui/provenance", "/ui/provenance", data={"part": "NO-SUCH-SERIAL", "direction": "downward"})
    assert r.status_code == 400
    assert re.search(r'id="job-part"[^>]*>\s*<p class="field-error" role="alert">part: none of our own parts', r.text)
    r = post(company, "/ui/provenance", "/ui/provenance", data={"part": "urn:uuid:x", "bpn": "NOTABPN"})
    assert r.status_code == 400
    assert re.search(r'id="job-bpn"[^>]*>\s*<p class="field-error" role="alert">bpn: expected the owner', r.text)
    r = post(company, "/ui/provenance", "/ui/provenance", data={"part": "urn:uuid:x", "bpn": "BPNL00000000NONE"})
    assert r.status_code == 404 and 'role="alert">bpn:' in r.text
    assert company.client.get("/ui/provenance/nope").status_code == 404
