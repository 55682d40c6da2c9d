"""QuerySpec: filters, sorting and paging, in SQL where the field is a column and in memory otherwise."""

from __future__ import annotations

import pytest

from tests.management.helpers import EDC, VOCAB, asset, ok

ASSETS = "/management/v3/assets"


@pytest.fixture
def five(api):
    for i, (kind, rank) in enumerate([("pcf", 5), ("pcf", 1), ("twin", 3), ("pcf", 4), ("twin", 2)]):
        body = asset(f"asset-{i}", kind=kind, rank=rank,
                     **{"dct:type": {"@id": f"https://w3id.org/catenax/taxonomy#{kind.title()}"}})
        body["privateProperties"] = {"owner": "team-a" if i % 2 else "team-b"}
        ok(api.post(ASSETS, json=body))
    return api


def query(api, **spec) -> list[str]:
    return [a["@id"] for a in ok(api.post(f"{ASSETS}/request", json={"@context": VOCAB, "@type": "QuerySpec", **spec}))]


def test_defaults_without_a_body(five):
    assert [a["@id"] for a in ok(five.post(f"{ASSETS}/request"))] == [f"asset-{i}" for i in range(5)]


def test_paging_and_id_order(five):
    assert query(five, offset=1, limit=2) == ["asset-1", "asset-2"]
    assert query(five, sortField="id", sortOrder="DESC", limit=2) == ["asset-4", "asset-3"]
    assert query(five, offset=10) == []


def test_sort_by_a_property_in_memory(five):
    assert query(five, sortField="rank") == ["asset-1", "asset-4", "asset-2", "asset-3", "asset-0"]
    assert query(five, sortField="rank", sortOrder="DESC", offset=1, limit=2) == ["asset-3", "asset-2"]


def test_sort_by_created_at_in_sql(five):
    ids = query(five, sortField="createdAt", sortOrder="ASC")
    assert sorted(ids) == [f"asset-{i}" for i in range(5)] and len(ids) == 5


@pytest.mark.parametrize("criterion, expected", [
    ({"operandLeft": EDC + "id", "operator": "=", "operandRight": "asset-2"}, ["asset-2"]),
    ({"operandLeft": "id", "operator": "in", "operandRight": ["asset-1", "asset-3", "nope"]}, ["asset-1", "asset-3"]),
    ({"operandLeft": "kind", "operator": "=", "operandRight": "twin"}, ["asset-2", "asset-4"]),
    ({"operandLeft": EDC + "kind", "operator": "!=", "operandRight": "twin"}, ["asset-0", "asset-1", "asset-3"]),
    ({"operandLeft": "rank", "operator": ">=", "operandRight": 4}, ["asset-0", "asset-3"]),
    ({"operandLeft": "rank", "operator": "<", "operandRight": 3}, ["asset-1", "asset-4"]),
    ({"operandLeft": "name", "operator": "like", "operandRight": "asset-%"}, [f"asset-{i}" for i in range(5)]),
    ({"operandLeft": "name", "operator": "ilike", "operandRight": "ASSET-_"}, [f"asset-{i}" for i in range(5)]),
    ({"operandLeft": "id", "operator": "like", "operandRight": "%-4"}, ["asset-4"]),
    ({"operandLeft": "privateProperties.'" + EDC + "owner'", "operator": "=", "operandRight": "team-a"},
     ["asset-1", "asset-3"]),
    # tractusx-sdk filters the dct:type like this
    ({"operandLeft": "'http://purl.org/dc/terms/type'.'@id'", "operator": "=",
      "operandRight": "https://w3id.org/catenax/taxonomy#Twin"}, ["asset-2", "asset-4"]),
])
def test_filters(five, criterion, expected):
    assert query(five, filterExpression=[criterion]) == expected


def test_criteria_are_anded_across_sql_and_memory(five):
    assert query(five, filterExpression=[
        {"operandLeft": "id", "operator": "in", "operandRight": ["asset-0", "asset-2", "asset-3"]},
        {"operandLeft": "kind", "operator": "=", "operandRight": "pcf"},
    ], sortField="rank") == ["asset-3", "asset-0"]


def test_a_single_criterion_may_come_unwrapped(five):
    assert query(five, filterExpression={"operandLeft": "kind", "operator": "=", "operandRight": "twin"}) == [
        "asset-2", "asset-4"]


@pytest.mark.parametrize("spec, path", [
    ({"sortOrder": "UP"}, "sortOrder"),
    ({"limit": 0}, "limit"),
    ({"limit": "lots"}, "limit"),
    ({"offset": -1}, "offset"),
    ({"filterExpression": [{"operandLeft": "id", "operator": "matches", "operandRight": "x"}]},
     "filterExpression[0].operator"),
    ({"filterExpression": [{"operator": "=", "operandRight": "x"}]}, "filterExpression[0].operandLeft"),
    ({"filterExpression": [{"operandLeft": "id", "operator": "="}]}, "filterExpression[0].operandRight"),
    ({"filterExpression": [{"operandLeft": "id", "operator": "in", "operandRight": []}]},
     "filterExpression[0].operandRight"),
    ({"filterExpression": [{"operandLeft": "createdAt", "operator": "<", "operandRight": "yesterday"}]}, None),
])
def test_bad_query_specs_are_400_naming_the_field(five, spec, path):
    r = five.post(f"{ASSETS}/request", json={"@context": VOCAB, **spec})
    assert r.status_code == 400, r.text
    [error] = r.json()
    if path:
        assert error["path"] == path
    assert error["type"] == "ValidationFailure"


def test_wrong_type_of_query_spec_is_refused(five):
    r = five.post(f"{ASSETS}/request", json={"@context": VOCAB, "@type": "Asset"})
    assert r.status_code == 400 and r.json()[0]["path"] == "@type"


def test_unknown_fields_of_fixed_entities_are_400(api):
    r = api.post("/management/v3/contractnegotiations/request",
                 json={"@context": VOCAB, "filterExpression": [{"operandLeft": "colour", "operator": "=", "operandRight": "red"}]})
    assert r.status_code == 400 and "colour" in r.json()[0]["message"] and "counterPartyId" in r.json()[0]["message"]
    r = api.post("/management/v3/contractagreements/request", json={"@context": VOCAB, "sortField": "colour"})
    assert r.status_code == 400 and r.json()[0]["path"] == "sortField"
