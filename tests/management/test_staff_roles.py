"""Staff access: several management keys, each with a role and stored hashed; OIDC bearer tokens
verified against the issuer's JWKS; a refused write names the role; the audit log names the caller."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from connector.app import create_app
from connector.cli.main import app as cli
from connector.config import ManagementSettings, OidcSettings, Settings, StaffKey
from connector.management.staff import hash_key
from connector.store.models import AuditEntry

OPERATOR_KEY = "operator-key-0123456789"
READER_KEY = "reader-key-0123456789"
JWKS_URL = "http://127.0.0.1:9/realms/acme/protocol/openid-connect/certs"
ISSUER = "http://127.0.0.1:9/realms/acme"
ASSET = {"@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}, "properties": {"name": "x"},
         "dataAddress": {"type": "HttpData", "baseUrl": "https://example.com"}}


def settings_for(tmp_path: Path, oidc: OidcSettings | None = None) -> Settings:
    return Settings(participant_id="did:web:staff.test", database_url=f"sqlite:///{tmp_path}/s.db", api_key="admin-key",
                    token="t", management=ManagementSettings(keys=[
                        StaffKey(name="olga", role="operator", hash=hash_key(OPERATOR_KEY)),
                        StaffKey(name="rita", role="read-only", hash=hash_key(READER_KEY))], oidc=oidc))


@pytest.fixture
def api(tmp_path: Path):  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings_for(tmp_path))) as client:
        yield client


def post_asset(client: TestClient, asset_id: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post("/management/v3/assets", json={**ASSET, "@id": asset_id}, headers=headers)


def test_each_key_acts_with_its_role(api):
    assert post_asset(api, "by-olga", {"X-Api-Key": OPERATOR_KEY}).status_code == 200
    refused = post_asset(api, "by-rita", {"X-Api-Key": READER_KEY})
    assert refused.status_code == 403
    assert "rita has the role read-only" in refused.json()[0]["message"]
    # read-only reads and queries
    assert api.get("/management/v3/assets/by-olga", headers={"X-Api-Key": READER_KEY}).status_code == 200
    assert api.post("/management/v3/assets/request", json={}, headers={"X-Api-Key": READER_KEY}).status_code == 200
    # an operator may not change who may connect
    peer = api.post("/management/v3/peers", json={"id": "did:web:x.test"}, headers={"X-Api-Key": OPERATOR_KEY})
    assert peer.status_code == 403 and "needs the role admin" in peer.json()[0]["message"]
    assert api.get("/management/v3/assets/by-olga", headers={"X-Api-Key": "nobody"}).status_code == 401


def test_the_audit_log_names_the_staff_member(api):
    post_asset(api, "by-olga", {"X-Api-Key": OPERATOR_KEY})
    post_asset(api, "by-rita", {"X-Api-Key": READER_KEY})
    with api.app.state.services.db.read() as s:
        writes = [e for e in s.query(AuditEntry).all() if e.kind == "management.write"]
    assert [(e.actor, e.details["status"], e.details["role"]) for e in writes] == [
        ("staff:olga", 200, "operator"), ("staff:rita", 403, "read-only")]


def test_the_config_keeps_hashes_only_and_refuses_a_bad_entry(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('participant_id = "did:web:x"\napi_key = "k"\n'
                      '[[management.keys]]\nname = "olga"\nrole = "operator"\nhash = "plain-key"\n')
    from connector.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=r"\[\[management.keys\]\] #1 hash"):
        load_settings(config)
    config.write_text('participant_id = "did:web:x"\napi_key = "k"\n'
                      '[[management.keys]]\nname = "olga"\nrol = "operator"\nhash = "sha256:' + "0" * 64 + '"\n')
    with pytest.raises(ConfigError, match="did you mean 'role'"):
        load_settings(config)


def test_staff_key_prints_a_key_and_its_config_entry():
    result = CliRunner().invoke(cli, ["staff", "key", "--name", "olga", "--role", "operator"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    key = lines[0]
    assert f'hash = "{hash_key(key)}"' in result.stdout and 'role = "operator"' in result.stdout
    hashed = CliRunner().invoke(cli, ["staff", "hash"], input=key + "\n")
    assert hashed.stdout.strip() == hash_key(key)
    wrong = CliRunner().invoke(cli, ["staff", "key", "--name", "x", "--role", "reader"])
    assert wrong.exit_code == 2


# --- OIDC ---------------------------------------------------------------------------------------

@pytest.fixture
def idp():  # type: ignore[no-untyped-def]
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwks = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}

    def token(roles: list[str], *, audience: str = "pontis", expires_in: int = 300, kid: str = "k1",
              issuer: str = ISSUER) -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience, "sub": "u-1", "preferred_username": "ines", "iat": now,
                  "exp": now + expires_in, "realm_access": {"roles": roles}}
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})
    return jwks, token


@pytest.fixture
def oidc_api(tmp_path: Path, idp, httpx_mock):  # type: ignore[no-untyped-def]
    jwks, _ = idp
    httpx_mock.add_response(url=JWKS_URL, json=jwks, is_reusable=True)
    oidc = OidcSettings(issuer=ISSUER, audience="pontis", jwks_url=JWKS_URL, role_claim="realm_access.roles",
                        role_map={"pontis-admin": "admin", "pontis-reader": "read-only"})
    with TestClient(create_app(settings_for(tmp_path, oidc))) as client:
        yield client


def test_an_oidc_token_is_verified_and_its_role_mapped(oidc_api, idp):
    _, token = idp
    admin = {"Authorization": f"Bearer {token(['pontis-admin'])}"}
    assert post_asset(oidc_api, "by-ines", admin).status_code == 200
    reader = {"Authorization": f"Bearer {token(['pontis-reader', 'other'])}"}
    refused = post_asset(oidc_api, "by-ines-2", reader)
    assert refused.status_code == 403 and "oidc:ines has the role read-only" in refused.json()[0]["message"]
    assert oidc_api.get("/management/v3/assets/by-ines", headers=reader).status_code == 200
    with oidc_api.app.state.services.db.read() as s:
        actors = [e.actor for e in s.query(AuditEntry).all() if e.kind == "management.write"]
    assert actors[0] == "staff:oidc:ines"


@pytest.mark.parametrize("change", ["expired", "audience", "issuer", "no-role", "unknown-kid", "tampered"])
def test_a_bad_oidc_token_is_refused(oidc_api, idp, change):
    _, token = idp
    made = {"expired": lambda: token(["pontis-admin"], expires_in=-120),
            "audience": lambda: token(["pontis-admin"], audience="other"),
            "issuer": lambda: token(["pontis-admin"], issuer="http://evil.test"),
            "no-role": lambda: token(["unmapped"]),
            "unknown-kid": lambda: token(["pontis-admin"], kid="k2"),
            "tampered": lambda: token(["pontis-reader"])[:-4] + "AAAA"}[change]()
    answer = oidc_api.get("/management/v3/assets/x", headers={"Authorization": f"Bearer {made}"})
    assert answer.status_code == 401
