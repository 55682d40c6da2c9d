"""EDR tokens: what is refused (and that no data leaks then), refresh, rotation, revocation, expiry."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connector.store.models import EdrGrant, TransferProcess

SECRET = {"type": "PontisDocument", "document": {"secret": "the part data"}}
NEW_YEAR_2031_MS = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp() * 1000)
UNTIL_2031 = {"permission": [{"action": "use", "constraint": [
    {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2031-01-01T00:00:00Z"}]}]}


def refused(answer, status: int, *words: str) -> dict:
    assert answer.status_code == status, answer.text
    assert b"the part data" not in answer.content  # no data, ever
    body = answer.json()
    text = body.get("reason") or body.get("error_description") or ""
    for word in words:
        assert word in text, text
    return body


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def signing_key(dw) -> Ed25519PrivateKey:
    with dw.provider.services.db.read() as s:
        dw.provider.services.edrs.public_key(s)
    return dw.provider.services.edrs._key


def test_a_missing_token_gets_401(dw):
    dw.pull("doc", SECRET)
    body = refused(dw.fetch(None), 401, "no token")
    assert body["error"] == "invalid_token"
    assert dw.fetch(None).headers["www-authenticate"].startswith("Bearer")


def test_bearer_and_raw_tokens_both_work(dw):
    edr = dw.pull("doc", SECRET)
    assert dw.fetch(edr.token).status_code == 200
    assert dw.fetch(None, headers={"Authorization": f"Bearer {edr.token}"}).status_code == 200


def test_a_forged_token_gets_401(dw):
    edr = dw.pull("doc", SECRET)
    forged = jwt.encode(claims_of(edr.token), Ed25519PrivateKey.generate(), algorithm="EdDSA")
    refused(dw.fetch(forged), 401, "not one this connector issued")
    head, body, sig = edr.token.split(".")
    refused(dw.fetch(f"{head}.{body}.{sig[:-4]}AAAA"), 401)
    refused(dw.fetch("not-a-jwt"), 401)
    # same key, but HS256 with the public key as a secret: the algorithm confusion trick
    refused(dw.fetch(jwt.encode(claims_of(edr.token), "x" * 32, algorithm="HS256")), 401)


def test_an_expired_token_gets_401_until_refreshed(dw):
    edr = dw.pull("doc", SECRET)
    dw.clock.advance(301)
    body = refused(dw.fetch(edr), 401, "expired")
    assert body["error"] == "invalid_token"


def test_a_token_for_another_transfer_gets_403(dw):
    a = dw.pull("doc-a", SECRET)
    b = dw.pull("doc-b", {"type": "PontisDocument", "document": {"other": True}})
    claims = claims_of(a.token) | {"tp": b.provider_pid}  # A's grant, B's transfer, a valid signature
    refused(dw.fetch(jwt.encode(claims, signing_key(dw), algorithm="EdDSA")), 403, "not issued for transfer")
    claims = claims_of(b.token) | {"agreement": claims_of(a.token)["agreement"]}
    refused(dw.fetch(jwt.encode(claims, signing_key(dw), algorithm="EdDSA")), 403, "agreement")
    unknown = claims_of(a.token) | {"jti": "made-up"}
    refused(dw.fetch(jwt.encode(unknown, signing_key(dw), algorithm="EdDSA")), 403)


@pytest.mark.parametrize("end", ["suspend", "terminate", "complete"])
def test_tokens_stop_working_when_the_transfer_ends(dw, end):
    edr = dw.pull("doc", SECRET)
    assert dw.fetch(edr).status_code == 200
    command = getattr(dw.consumer.services.transfers, end)
    command(edr.consumer_pid) if end == "complete" else command(edr.consumer_pid, "we are done")
    dw.settle()
    state = dw.provider_transfer(edr.provider_pid).state
    assert state in ("SUSPENDED", "TERMINATED", "COMPLETED")
    refused(dw.fetch(edr), 403, "revoked")
    refused(dw.refresh(edr.token, edr.refresh_token), 400, "revoked")


def test_a_resumed_transfer_gets_a_new_edr_and_the_old_one_stays_dead(dw):
    edr = dw.pull("doc", SECRET)
    dw.consumer.services.transfers.suspend(edr.consumer_pid, "night")
    dw.settle()
    dw.provider.services.transfers.start(edr.provider_pid)  # the provider resumes
    dw.settle()
    mine = dw.consumer_transfer(edr.consumer_pid)
    assert mine.state == "STARTED"
    fresh = dw.edr_of(mine)
    assert fresh.token != edr.token
    refused(dw.fetch(edr), 403, "revoked")
    assert dw.fetch(fresh).status_code == 200


def test_a_terminated_transfer_refuses_with_its_state_even_for_a_live_grant(dw):
    edr = dw.pull("doc", SECRET)
    with dw.provider.services.db.write() as s:  # as if another replica ended it without our hook
        row = s.get(TransferProcess, edr.provider_pid)
        row.state, row.error_detail = "TERMINATED", "terminated by staff"
    refused(dw.fetch(edr), 403, "TERMINATED", "terminated by staff")


def test_an_agreement_that_lapsed_refuses_at_once_and_the_sweep_terminates_the_transfer(dw):
    dw.clock.now = NEW_YEAR_2031_MS - 300_000  # 2030-12-31T23:55Z: five minutes left
    edr = dw.pull("doc", SECRET, policy=UNTIL_2031)
    assert dw.fetch(edr).status_code == 200
    dw.clock.advance(240)
    fresh = dw.refresh(edr.token, edr.refresh_token).json()
    dw.clock.advance(100)  # into 2031; the fresh token has 200 s left by its own clock
    refused(dw.fetch(fresh["access_token"]), 403, "dateTime")
    refused(dw.refresh(fresh["access_token"], fresh["refresh_token"]), 403)
    assert dw.run_flows() == 0
    dw.settle()
    row = dw.provider_transfer(edr.provider_pid)
    assert row.state == "TERMINATED" and "no longer in force" in row.error_detail
    assert "no longer in force" in " ".join(dw.consumer_transfer(edr.consumer_pid).error["reasons"])


def test_refresh_rotates_both_tokens_and_each_refresh_token_works_once(dw):
    edr = dw.pull("doc", SECRET)
    dw.clock.advance(299)
    answer = dw.refresh(edr.token, edr.refresh_token)
    assert answer.status_code == 200, answer.text
    fresh = answer.json()
    assert fresh["token_type"] == "Bearer" and fresh["expires_in"] == 300
    assert fresh["refresh_token"] != edr.refresh_token and fresh["access_token"] != edr.token
    assert fresh["refresh_endpoint"] == edr.refresh_endpoint
    assert answer.headers["cache-control"] == "no-store"
    assert dw.fetch(fresh["access_token"]).json() == {"secret": "the part data"}
    refused(dw.fetch(edr), 401, "replaced by a refresh")
    refused(dw.refresh(edr.token, edr.refresh_token), 400, "already used")
    # the next generation refreshes after the old access token has long expired
    dw.clock.advance(1000)
    refused(dw.fetch(fresh["access_token"]), 401, "expired")
    third = dw.refresh(fresh["access_token"], fresh["refresh_token"])
    assert third.status_code == 200 and dw.fetch(third.json()["access_token"]).status_code == 200
    # only hashes are stored
    with dw.provider.services.db.read() as s:
        stored = {g.refresh_hash for g in s.exec(__import__("sqlmodel").select(EdrGrant))}
    assert not {edr.refresh_token, fresh["refresh_token"], third.json()["refresh_token"]} & stored


def test_refresh_accepts_the_form_encoded_body_of_rfc_6749(dw):
    edr = dw.pull("doc", SECRET)
    answer = dw.http.post(edr.refresh_endpoint, headers={"Authorization": f"Bearer {edr.token}"},
                          data={"grant_type": "refresh_token", "refresh_token": edr.refresh_token})
    assert answer.status_code == 200, answer.text


def test_refresh_refusals_say_why(dw):
    a = dw.pull("doc-a", SECRET)
    b = dw.pull("doc-b", SECRET)
    assert refused(dw.refresh(a.token, None), 400)["error"] == "invalid_request"
    assert refused(dw.refresh(a.token, a.refresh_token, grant_type="password"), 400)["error"] == \
        "unsupported_grant_type"
    assert refused(dw.refresh(None, a.refresh_token), 401)["error"] == "invalid_client"
    forged = jwt.encode(claims_of(a.token), Ed25519PrivateKey.generate(), algorithm="EdDSA")
    assert refused(dw.refresh(forged, a.refresh_token), 401)["error"] == "invalid_client"
    refused(dw.refresh(b.token, a.refresh_token), 400, "not known for this transfer")
    refused(dw.refresh(a.token, "guessed"), 400, "not known")
    # none of that used A's refresh token up
    assert dw.refresh(a.token, a.refresh_token).status_code == 200


def test_concurrent_refreshes_with_one_token_yield_one_new_pair(dw):
    edr = dw.pull("doc", SECRET)
    start = threading.Barrier(6)

    def attempt(_: int) -> int:
        start.wait()
        return dw.http.post(edr.refresh_endpoint, headers={"Authorization": edr.token},
                            params={"grant_type": "refresh_token", "refresh_token": edr.refresh_token}).status_code
    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(attempt, range(6)))
    assert codes == [200, 400, 400, 400, 400, 400]
    with dw.provider.services.db.read() as s:
        live = s.exec(__import__("sqlmodel").select(EdrGrant).where(EdrGrant.status == "active")).all()
    assert len(live) == 1


def test_an_edr_not_refreshed_in_time_ends_the_transfer_with_a_reason(dw):
    edr = dw.pull("doc", SECRET)
    dw.clock.advance(3599)
    dw.run_flows()
    assert dw.provider_transfer(edr.provider_pid).state == "STARTED"
    dw.clock.advance(2)
    refused(dw.refresh(edr.token, edr.refresh_token), 400, "expired")
    dw.run_flows()
    dw.settle()
    row = dw.provider_transfer(edr.provider_pid)
    assert row.state == "TERMINATED" and row.error_detail == "the EDR expired and was not refreshed in time"
    assert dw.consumer_transfer(edr.consumer_pid).state == "TERMINATED"


def test_a_refresh_after_termination_is_refused(dw):
    edr = dw.pull("doc", SECRET)
    dw.provider.services.transfers.terminate(edr.provider_pid, "contract breach")
    dw.settle()
    refused(dw.refresh(edr.token, edr.refresh_token), 400, "revoked")
