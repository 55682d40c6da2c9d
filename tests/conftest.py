"""Fixtures shared by all tests: an empty database on each engine the store supports.

``database_url`` is parametrized over SQLite and PostgreSQL, so a test that asks for it (or for
``db``) runs once per engine. SQLite is a file under ``tmp_path``. PostgreSQL is a fresh schema,
created for the test on the server named by ``PONTIS_TEST_POSTGRES_URL`` and dropped afterwards;
the URL handed to the test sets ``search_path`` to that schema, so every connection made from it
sees only that schema. Without the variable the PostgreSQL runs are skipped, except under CI,
where they fail: CI must test PostgreSQL.

Select one engine with ``-k sqlite`` / ``-k postgres``, or ``-m "not postgres"``.

At the end of a run one line says how many tests skipped and why, grouped by what they need
(``pytest_terminal_summary``): a skip must always say what would make the test run.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from _pytest.terminal import TerminalReporter
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from connector.store import Database
from connector.store.db import normalize_url

POSTGRES_ENV = "PONTIS_TEST_POSTGRES_URL"
POSTGRES_MISSING = f"PostgreSQL not configured: set {POSTGRES_ENV} (CI does, via .ci/postgres.sh)"


@pytest.fixture(scope="session")
def _postgres_admin() -> Iterator[Engine | None]:
    """One autocommit engine on the test server, shared by the session, to create and drop schemas."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        yield None
        return
    engine = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _postgres_schema_url(base: str, schema: str) -> str:
    url = make_url(normalize_url(base))
    given = url.query.get("options")
    options = " ".join(filter(None, [given if isinstance(given, str) else None, f"-csearch_path={schema}"]))
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
])
def database_url(request: pytest.FixtureRequest, tmp_path, _postgres_admin: Engine | None) -> Iterator[str]:
    """The URL of a fresh, empty database (no tables) on one engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pontis.db'}"
        return
    if _postgres_admin is None:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(POSTGRES_MISSING + "; under CI this is an error, not a skip", pytrace=False)
        pytest.skip(POSTGRES_MISSING)
    schema = f"pontis_test_{uuid.uuid4().hex[:16]}"
    with _postgres_admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(os.environ[POSTGRES_ENV], schema)
    finally:
        with _postgres_admin.connect() as conn:
            # a test that left a transaction open would otherwise make this wait forever
            conn.execute(text("SET lock_timeout = '10s'"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated, empty store on each engine; its engine is disposed after the test."""
    database = Database(database_url)
    try:
        database.migrate()
        yield database
    finally:
        database.dispose()


# --- one line about the skips ------------------------------------------------------------------

# what a skip reason mentions -> the group it is counted in, first match wins
SKIP_GROUPS = (
    (("../shared", "shared folder", "reference"), "need ../shared (comparisons with reference files)"),
    ((POSTGRES_ENV, "PostgreSQL"), f"need PostgreSQL ({POSTGRES_ENV})"),
    (("tractusx-sdk", "Python >= 3.12", "PONTIS_SDK_PYTHON"), "need Python >= 3.12 with tractusx-sdk (make sdk)"),
    (("Chromium", "chromium", "playwright", "Playwright"), "need Chromium and Playwright (make browser)"),
)


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def skip_group(reason: str) -> str:
    for needles, group in SKIP_GROUPS:
        if any(needle in reason for needle in needles):
            return group
    return reason


def skip_line(reasons: list[str]) -> str:
    """``26 skipped: 20 need ../shared (...), 6 need PostgreSQL (...)``, the largest group first."""
    groups = Counter(skip_group(reason) for reason in reasons)
    parts = ", ".join(f"{count} {group}" for group, count in sorted(groups.items(), key=lambda g: (-g[1], g[0])))
    return f"{len(reasons)} skipped: {parts}"


def pytest_terminal_summary(terminalreporter: TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    # a module that skips as a whole is one report, as pytest counts it in its own summary
    reasons = [skip_reason(r) for r in terminalreporter.stats.get("skipped", [])]
    if reasons:
        terminalreporter.write_line(skip_line(reasons))
