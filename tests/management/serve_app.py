"""An app factory for ``uvicorn --factory``, used by test_tractusx_sdk when ``connector serve`` is missing.

The config file is named by ``MGMT_TEST_CONFIG`` (not a ``PONTIS_`` variable: those are read as
settings overrides).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from connector.app import create_app
from connector.config import load_settings


def app() -> FastAPI:
    return create_app(load_settings(os.environ["MGMT_TEST_CONFIG"]))
