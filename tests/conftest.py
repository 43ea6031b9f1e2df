"""Shared test helpers: a MoodleSite over a synthetic site built in in-memory SQLite.

No mocks of the database layer: each test builds the exact Moodle rows it needs with the
project's own SiteBuilder, and the real site layer reads them with real SQL.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.site.phpconfig import PhpConfig, parse_config_php
from moodle_soc.synthetic.builder import SiteBuilder

# The synthetic builder's default "now" (2026-11-29), so ages are stable in every test.
AUDIT_TIME = datetime.fromtimestamp(1795936000, UTC)

SiteFactory = Callable[..., MoodleSite]


def site_from(
    builder: SiteBuilder,
    *,
    config_php: str | PhpConfig | None = None,
    audit_time: datetime = AUDIT_TIME,
    wwwroot: str | None = None,
) -> MoodleSite:
    """A MoodleSite reading ``builder``'s site from a fresh in-memory SQLite database."""
    engine = builder.sqlite_memory()
    db = Database(engine=engine, prefix=builder.prefix, display_url="sqlite://(memory)")
    cfg = parse_config_php(config_php) if isinstance(config_php, str) else config_php
    return MoodleSite(db, audit_time=audit_time, config_php=cfg, wwwroot=wwwroot)


@pytest.fixture(autouse=True)
def private_evidence_store(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test (or CLI subprocess it starts) writes to the user's real evidence store, or reads
    an advisories file the user installed."""
    store = tmp_path_factory.mktemp("evidence") / "evidence.sqlite"
    monkeypatch.setenv("MOODLE_SOC_STORE", str(store))
    monkeypatch.setenv("MOODLE_SOC_ADVISORIES", str(store.with_name("advisories.yaml")))


@pytest.fixture
def builder() -> SiteBuilder:
    """A fresh Moodle 5.1 install (defaults only) to add the records a test needs to."""
    return SiteBuilder()


@pytest.fixture
def make_site() -> SiteFactory:
    return site_from


#: Names this test run in every process of it (see tests/integration/fixtures.py, RUN_ENV).
RUN_ENV = "MOODLE_SOC_TEST_RUN"


def _starts_the_run(config: pytest.Config) -> bool:
    """True in a plain pytest process and in the pytest-xdist controller, not in its workers."""
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    # Set before pytest-xdist starts its workers, which inherit it: they share what is made
    # once per run (the integration suite's template databases).
    if _starts_the_run(config):
        os.environ[RUN_ENV] = secrets.token_hex(4)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Once every worker is done: drop the run-wide databases the integration suite made."""
    if not _starts_the_run(session.config):
        return
    from tests.integration.fixtures import drop_run_databases

    for problem in drop_run_databases(os.environ[RUN_ENV]):
        print(f"\nintegration cleanup failed: {problem}", file=sys.stderr)


def _hypothesis_profile() -> None:
    """Property tests judge results, not speed: no per-example deadline, which a machine under
    load (CI with every core busy) would otherwise turn into flaky failures."""
    from hypothesis import settings

    settings.register_profile("moodle-soc", deadline=None)
    settings.load_profile("moodle-soc")


_hypothesis_profile()
