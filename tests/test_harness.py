"""The harness checks itself: ``settle`` fails when the awaited thing never happens, and the skip line groups reasons."""

from __future__ import annotations

import pytest

from tests.conftest import skip_group, skip_line
from tests.harness import Clock, settle


def test_settle_returns_what_the_condition_found() -> None:
    seen = iter([None, None, {"state": "FINALIZED"}])
    assert settle(until=lambda: next(seen), what="the negotiation to finish") == {"state": "FINALIZED"}


def test_settle_fails_naming_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"waited 0.1 s for the transfer to start \(it is REQUESTED\); last seen"):
        settle(until=lambda: None, timeout=0.1, what=lambda: "the transfer to start (it is REQUESTED)")


def test_settle_needs_something_to_drive_or_to_wait_for() -> None:
    with pytest.raises(TypeError):
        settle()


def test_the_clock_moves_only_when_told() -> None:
    clock = Clock(1_000)
    assert clock() == 1_000
    clock.advance(2.5)
    assert clock() == 3_500


def test_skip_reasons_are_grouped_by_what_they_need() -> None:
    reasons = ["reference material not found: ../shared (sibling of the repository) is absent",
               "PostgreSQL not configured: set PONTIS_TEST_POSTGRES_URL (CI does, via .ci/postgres.sh)",
               "the DSP 2025-1 reference schemas are not at /x/shared/reference/dsp/2025-1",
               "disabled in the DSP TCK itself"]
    assert skip_group(reasons[3]) == "disabled in the DSP TCK itself"
    assert skip_line(reasons) == ("4 skipped: 2 need ../shared (comparisons with reference files), "
                                  "1 disabled in the DSP TCK itself, 1 need PostgreSQL (PONTIS_TEST_POSTGRES_URL)")
