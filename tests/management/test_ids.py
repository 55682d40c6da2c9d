"""Ids that could be written but never read or deleted again are refused (issue 8).

An asset, policy or contract definition is reached at ``/v3/<kind>/{id}``: one URL path segment.
Before the fix ``cd/slash``, ``../../etc/passwd``, ``.`` and ``..`` were accepted, and such an
offer could never be withdrawn.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.management.helpers import asset, contract_definition, ok, usage_policy

BAD_IDS = ["cd/slash", "../../etc/passwd", ".", "..", "line\nbreak"]
KINDS = {
    "assets": asset,
    "policydefinitions": usage_policy,
    "contractdefinitions": lambda i: contract_definition(i, "asset-1"),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bad", BAD_IDS)
def test_an_unreachable_id_is_refused_with_what_is_allowed(api, kind, bad):
    answer = api.post(f"/management/v3/{kind}", json=KINDS[kind](bad))
    assert answer.status_code == 400, answer.text
    [error] = answer.json()
    assert error["path"] == "@id" and error["type"] == "ValidationFailure"
    assert "any characters except '/'" in error["message"] and "not '.' or '..'" in error["message"]
    assert ok(api.post(f"/management/v3/{kind}/request", json={})) == []  # nothing was written


@pytest.mark.parametrize("kind", KINDS)
def test_ids_with_other_punctuation_are_reached_by_every_route(api, kind):
    odd = "urn:cx:part?v=1#a b;c=d"
    if kind == "contractdefinitions":  # what a contract definition names must exist (issue 11)
        ok(api.post("/management/v3/assets", json=asset("asset-1")))
        for policy_id in ("access-1", "usage-1"):
            ok(api.post("/management/v3/policydefinitions", json=usage_policy(policy_id)))
    ok(api.post(f"/management/v3/{kind}", json=KINDS[kind](odd)))
    path = f"/management/v3/{kind}/{quote(odd, safe='')}"
    assert ok(api.get(path))["@id"] == odd
    ok(api.put(f"/management/v3/{kind}", json=KINDS[kind](odd)), 204)
    ok(api.delete(path), 204)
    assert api.get(path).status_code == 404


def test_a_seed_file_with_such_an_id_is_refused(tmp_path):
    import json

    from connector.services.container import build
    from connector.services.seed import SeedError, load_seed
    from tests.management.conftest import make_settings

    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"assets": [{"@id": "a/b", "dataAddress": {"type": "HttpData"}}]}))
    services = build(make_settings(f"sqlite:///{tmp_path}/seed.db"))
    services.db.migrate()
    with pytest.raises(SeedError, match=r"assets\[0\]\.@id: 'a/b' is not a usable id"):
        load_seed(services, seed)
