"""Our shapes subset against the official Gaia-X 25.11 shapes (../shared/reference/gaiax): the
same cases conform or fail at the same shape and path (skips when ../shared is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.gaiax.shapes import ShapesValidator

from .test_shapes import check

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "gaiax"


@pytest.mark.skipif(not (REFERENCE / "omb" / "gx.shacl.ttl").exists(), reason="../shared/reference/gaiax is absent")
def test_the_official_shapes_agree() -> None:
    check(ShapesValidator(REFERENCE / "omb" / "gx.shacl.ttl", REFERENCE / "omb" / "gx.owl.ttl"))
