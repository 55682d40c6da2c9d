"""The console's locks, without a browser: login with the key, sessions, CSRF on every write, the
Content-Security-Policy on every answer, and no inline script or style anywhere (the CSP forbids it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import Peer, Settings
from connector.services.container import build
from connector.store.models import Asset
from connector.web.security import CSP, SESSION_MS, Sessions
from tests.harness import Clock

KEY = "the-management-key"
PAGES = ("/ui/", "/ui/assets", "/ui/policies", "/ui/policies/new", "/ui/policies/new?template=pcf-exchange-usage",
         "/ui/contracts", "/ui/groups", "/ui/peers", "/ui/partners", "/ui/negotiations", "/ui/transfers",
         "/ui/agreements", "/ui/footprints", "/ui/provenance")


START_MS = 1_800_000_000_000


@dataclass
class Console:
    client: TestClient
    clock: Clock
    services: object

    def login(self, key: str = KEY, next_: str = "/ui/"):  # type: ignore[no-untyped-def]
        page = self.client.get("/ui/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        return self.client.post("/ui/login", data={"csrf": token, "api_key": key, "next": next_},
                                follow_redirects=False)

    def csrf(self, path: str = "/ui/assets") -> str:
        return re.search(r'name="csrf" value="([^"]+)"', self.client.get(path).text).group(1)


@pytest.fixture
def console(tmp_path) -> Iterator[Console]:
    settings = Settings(participant_id="did:web:solo.test", bpn="BPNL000000000001", api_key=KEY,
                        database_url=f"sqlite:///{tmp_path / 'ui.db'}",
                        peers=[Peer(id="did:web:partner.test", token="t", bpn="BPNL00000003AYRE")])
    clock = Clock(START_MS)
    services = build(settings, clock=clock)
    with TestClient(create_app(settings, services, run_worker=False)) as client:
        yield Console(client, clock, services)


def test_every_page_without_a_session_sends_to_the_login_page(console):
    for path in PAGES:
        r = console.client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/ui/login?next=/ui"), path
    r = console.client.post("/ui/api/policies/validate", json={"fields": {}})
    assert r.status_code == 401 and "log" in r.json()["error"]


def test_a_wrong_or_missing_key_is_refused_and_no_session_is_given(console):
    for key, said in (("not-the-key", "not this connector"), ("", "Enter the management key")):
        r = console.login(key)
        assert r.status_code == 401
        assert said in r.text
        assert not any(c.startswith("pontis_session") for c in r.headers.get_list("set-cookie"))
    assert console.client.get("/ui/", follow_redirects=False).status_code == 303


def test_the_right_key_gives_an_httponly_strict_session_that_opens_every_page(console):
    r = console.login(next_="/ui/assets")
    assert r.status_code == 303 and r.headers["location"] == "/ui/assets"
    session = next(c for c in r.headers.get_list("set-cookie") if c.startswith("pontis_session="))
    assert "HttpOnly" in session and "SameSite=strict" in session.replace("Strict", "strict")
    assert "Path=/ui" in session
    for path in PAGES:
        assert console.client.get(path).status_code == 200, path


def test_login_never_redirects_off_the_console(console):
    for target in ("https://evil.example/", "//evil.example/ui", "/management/v3/assets"):
        assert console.login(next_=target).headers["location"] == "/ui/"


def test_a_login_post_without_the_login_forms_token_is_refused(console):
    r = console.client.post("/ui/login", data={"api_key": KEY}, follow_redirects=False)
    assert r.status_code == 403
    assert console.client.get("/ui/", follow_redirects=False).status_code == 303


def test_sessions_expire_and_end_when_the_key_changes(console):
    console.login()
    console.clock.now += SESSION_MS + 1
    assert console.client.get("/ui/", follow_redirects=False).status_code == 303
    sessions = Sessions("key-one")
    token = sessions.issue(1000)
    assert sessions.check(token, 2000) is not None
    assert Sessions("key-two").check(token, 2000) is None
    assert sessions.check(token[:-1] + ("0" if token[-1] != "0" else "1"), 2000) is None


def test_logging_out_ends_the_session(console):
    console.login()
    r = console.client.post("/ui/logout", data={"csrf": console.csrf()}, follow_redirects=False)
    assert r.status_code == 303
    old = r.request.headers["cookie"]
    assert console.client.get("/ui/", headers={"cookie": old}, follow_redirects=False).status_code == 303


def test_a_form_without_or_with_a_wrong_csrf_token_changes_nothing(console):
    console.login()
    form = {"id": "doc-1", "kind": "document", "document": '{"a": 1}'}
    sessions = Sessions(KEY)
    another_sessions_token = sessions.csrf(sessions.check(sessions.issue(console.clock.now), console.clock.now))
    for extra in ({}, {"csrf": "forged"}, {"csrf": another_sessions_token}):
        r = console.client.post("/ui/assets", data={**form, **extra}, follow_redirects=False)
        assert r.status_code == 403, extra
        assert "CSRF" in r.text
    with console.services.db.read() as session:
        assert session.get(Asset, "doc-1") is None
    r = console.client.post("/ui/assets", data={**form, "csrf": console.csrf()}, follow_redirects=False)
    assert r.status_code == 303
    with console.services.db.read() as session:
        assert session.get(Asset, "doc-1").data_address == {"type": "PontisDocument", "document": {"a": 1},
                                                           "contentType": "application/json"}


def test_a_fetch_without_the_csrf_header_is_refused(console):
    console.login()
    r = console.client.post("/ui/api/policies/validate", json={"fields": {}})
    assert r.status_code == 403 and "CSRF" in r.json()["error"]


def test_every_answer_carries_the_csp_and_no_page_has_inline_script_or_style(console):
    r = console.client.get("/ui/login")
    assert r.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP and "style-src 'self'" in CSP
    assert console.client.get("/ui/", follow_redirects=False).headers["content-security-policy"] == CSP
    assert console.client.get("/ui/static/app.js").headers["content-security-policy"] == CSP
    assert console.client.get("/ui/static/nothing.js").status_code == 404
    console.login()
    for path in PAGES:
        r = console.client.get(path)
        assert r.headers["content-security-policy"] == CSP, path
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        for script in re.findall(r"<script[^>]*>", r.text):
            assert 'src="/ui/static/' in script, (path, script)
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", r.text), path
        for href in re.findall(r'<link[^>]+href="([^"]+)"', r.text):
            assert href.startswith("/ui/static/"), (path, href)


def test_the_validate_endpoint_names_the_field_and_the_closest_operand(console):
    console.login()
    fields = {"@type": "Set", "permission[0].action": "use",
              "permission[0].constraint[0].and[0].leftOperand": "FrameworkAgrement",
              "permission[0].constraint[0].and[0].operator": "eq",
              "permission[0].constraint[0].and[0].rightOperand": "DataExchangeGovernance:1.0",
              "permission[0].constraint[0].and[1].leftOperand": "UsagePurpose",
              "permission[0].constraint[0].and[1].operator": "isAnyOf",
              "permission[0].constraint[0].and[1].rightOperand": '["cx.pcf.base:1"]'}
    csrf = console.csrf("/ui/policies/new")
    r = console.client.post("/ui/api/policies/validate", json={"fields": fields}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    problem = r.json()["problems"][0]
    assert problem["path"] == "permission[0].constraint[0].and[0].leftOperand"
    assert "FrameworkAgreement" in problem["expected"]
    fields["permission[0].constraint[0].and[0].leftOperand"] = "FrameworkAgreement"
    r = console.client.post("/ui/api/policies/validate", json={"fields": fields}, headers={"X-CSRF-Token": csrf})
    assert r.json() == {"valid": True, "problems": [], "policy": r.json()["policy"]}
    assert r.json()["policy"]["permission"][0]["constraint"][0]["and"][1]["rightOperand"] == ["cx.pcf.base:1"]


def test_a_refused_save_shows_the_error_at_its_field_and_stores_nothing(console):
    console.login()
    form = {"csrf": console.csrf("/ui/policies/new"), "policy_id": "p1", "@type": "Set",
            "permissions[0].action": "use"}
    r = console.client.post("/ui/policies", data=form)
    assert r.status_code == 400
    assert re.search(r'data-errors-for="">\s*<p class="field-error" role="alert">[^<]*permissions', r.text)
    assert console.client.get("/ui/policies/p1").status_code == 404
