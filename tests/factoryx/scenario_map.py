"""Which test runs each Factory-X network ADR scenario (``TEST.mdx`` Gherkin, Hercules ADRs 002, 003,
008, 009, 011, 012).

Every ``tests/factoryx/test_adrNNN.py`` ends with ``SCENARIOS``: the scenario's title, exactly as the
Gherkin writes it, mapped to the test that runs it, or to ``Elsewhere(why)`` when it cannot run on
one machine (the reason says what would be needed). ``test_scenarios.py`` holds the tables against
the Gherkin in ``../shared/reference/factoryx`` and checks that each named test exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ADRS = ("002", "003", "008", "009", "011", "012")
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "factoryx" / "hercules_network_adr"
_TITLE = re.compile(r"^\s*Scenario(?: Outline)?:\s*(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Elsewhere:
    """A scenario that cannot run on one machine; ``why`` says what it needs."""

    why: str


Runner = Callable[..., object] | Elsewhere


def reference_titles(adr: str) -> list[str] | None:
    """The scenario titles of one ADR's TEST.mdx, or None when ../shared is absent."""
    folders = sorted(REFERENCE.glob(f"adr{adr}-*")) if REFERENCE.is_dir() else []
    if not folders:
        return None
    return _TITLE.findall((folders[0] / "TEST.mdx").read_text(encoding="utf-8"))
