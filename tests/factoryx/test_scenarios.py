"""Every Factory-X ADR scenario is run by a named test, or says why it cannot run on one machine."""

from __future__ import annotations

import importlib
import inspect

import pytest

from .scenario_map import ADRS, Elsewhere, reference_titles


def _table(adr: str) -> dict:
    module = importlib.import_module(f"tests.factoryx.test_adr{adr}")
    table = getattr(module, "SCENARIOS", None)
    assert isinstance(table, dict) and table, f"tests/factoryx/test_adr{adr}.py: SCENARIOS is missing or empty"
    return table


@pytest.mark.parametrize("adr", ADRS)
def test_each_mapped_scenario_names_a_test_that_exists(adr: str) -> None:
    for title, runner in _table(adr).items():
        if isinstance(runner, Elsewhere):
            assert len(runner.why) > 20, f"ADR {adr} {title!r}: say what running it would need"
            continue
        assert inspect.isfunction(runner) and runner.__name__.startswith("test_"), f"ADR {adr} {title!r}: {runner!r}"
        module = importlib.import_module(runner.__module__)
        assert module.__name__.startswith("tests.") and getattr(module, runner.__name__) is runner, \
            f"ADR {adr} {title!r}: {runner.__name__} is not collected from {module.__name__}"


@pytest.mark.parametrize("adr", ADRS)
def test_the_map_covers_the_published_scenarios(adr: str) -> None:
    titles = reference_titles(adr)
    if titles is None:
        pytest.skip("../shared/reference/factoryx is absent: the titles cannot be compared")
    table = _table(adr)
    assert sorted(set(titles) - set(table)) == [], f"ADR {adr}: scenarios with no test"
    assert sorted(set(table) - set(titles)) == [], f"ADR {adr}: titles the Gherkin does not have"
