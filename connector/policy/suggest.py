"""Which left operands come first for a connector: those of its configured data spaces
(``[profile] dataspace``; Gaia-X's when ``[gaiax]`` is set), then every other one it speaks.

One rule for every edge: the console's policy editor (connector.web.policy_form) orders its
operands with it, and both the editor and the management API answer an unknown operand with the
closest operand of the configured profile first, then the closest of any data space.
"""

from __future__ import annotations

import difflib

from .profile import SPECS

OPERANDS = tuple(spec.name for spec in SPECS)
# data space -> (display name, OperandSpec.source, policy template file prefix)
SPACES = {"factory-x": ("Factory-X", "factory-x", "fx-"), "gaia-x": ("Gaia-X", "gaia-x", "gx-"),
          "catena-x": ("Catena-X 2025-09", "cx", "")}


def closest(word: str, choices: tuple[str, ...] | list[str]) -> str | None:
    """The valid choice closest to ``word`` (case-insensitive), or None when nothing is close."""
    lowered = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.5)
    return lowered[found[0]] if found else None


def spaces_of(dataspace: str, gaiax: bool = False) -> list[str]:
    """The data spaces whose operands come first, in order: the profile's, then Gaia-X's when configured."""
    order = {"factory-x": ["factory-x"], "both": ["factory-x", "catena-x"]}.get(dataspace, ["catena-x"])
    return order[:1] + (["gaia-x"] if gaiax else []) + order[1:]


def profile_operands(dataspace: str, gaiax: bool = False) -> tuple[str, ...]:
    """The left operands of the configured data spaces (what a typo is matched against first)."""
    sources = [SPACES[space][1] for space in spaces_of(dataspace, gaiax)]
    return tuple(spec.name for source in sources for spec in SPECS if spec.source == source)


def operands_for(dataspace: str, gaiax: bool = False) -> tuple[str, ...]:
    """Every left operand, those of the configured data spaces first."""
    return tuple(dict.fromkeys((*profile_operands(dataspace, gaiax), *OPERANDS)))


def unknown_operand_expected(written: str, dataspace: str, gaiax: bool = False) -> str:
    """What an unknown left operand should have been: the closest operand of the configured data
    spaces, else the closest of any data space, else the configured data spaces' operands."""
    word = written.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].rsplit(":", 1)[-1]
    mine = profile_operands(dataspace, gaiax)
    names = " and ".join(SPACES[space][0] for space in spaces_of(dataspace, gaiax))
    near = closest(word, mine) or closest(word, OPERANDS)
    hint = f"closest: {near}" if near else f"the {names} operands: {', '.join(mine)}"
    return f"a {names} left operand ({hint})"
