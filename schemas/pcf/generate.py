"""Writes the project's JSON schemas for footprints (schemas/pcf/*.schema.json).

Written from the models' documentation (io.catenax.pcf 7.0.0/8.0.0/9.0.0 SAMM models, PACT Technical
Specifications 2.3 and 3.0): the same fields, required lists and value constraints, in JSON Schema
2020-12. Run `python schemas/pcf/generate.py` after editing; tests/pcf checks the files match and
that they accept and reject the same documents as the official schemas.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # the schema modules beside this script

from pcf_schema_catenax import cx7, cx8, cx9  # noqa: E402
from pcf_schema_pact import pact2, pact3  # noqa: E402

SCHEMAS = {"cx-7.0.0": cx7, "cx-8.0.0": cx8, "cx-9.0.0": cx9, "pact-2": pact2, "pact-3": pact3}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    for name in SCHEMAS:
        (HERE / f"{name}.schema.json").write_text(render(name), encoding="utf-8")


if __name__ == "__main__":
    main()
