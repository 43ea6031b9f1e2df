"""Shared test helpers: a MoodleSite over a synthetic site built in in-memory SQLite.

No mocks of the database layer: each test builds the exact Moodle rows it needs with the
project's own SiteBuilder, and the real site layer reads them with real SQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

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


# --- each page printed to PDF once per process ------------------------------------------------

#: PDFs printed in this process, by the SHA-256 of the page they were printed from.
_PRINTED: dict[bytes, bytes] = {}
#: The real ``reports.pdf.html_to_pdf`` (while ``print_each_page_once`` stands in for it).
_PRINT: list[Callable[[str], bytes]] = []
#: True inside ``printing_anew()``.
_ANEW = [False]


def _print_once(html: str) -> bytes:
    """``reports.pdf.html_to_pdf``, printing a page seen before in this process only once.

    Printing takes seconds (a period report: ~4 s), and packages print the same pages again and
    again: exporting prints the period report, ``verify-package`` prints it again to compare,
    and many tests share one package. The same page prints to the same bytes (the tests that
    export twice check that, ``printing_anew``), so a repeated page is the bytes it printed to.
    Every page is still printed, by WeasyPrint, the first time it is seen.
    """
    if _ANEW[0]:
        return _PRINT[0](html)
    key = hashlib.sha256(html.encode()).digest()
    if key not in _PRINTED:
        _PRINTED[key] = _PRINT[0](html)
    return _PRINTED[key]


@contextmanager
def printing_anew() -> Iterator[None]:
    """Every page printed inside is printed again, as the product always does: for the tests
    that show the same evidence exports to the same bytes."""
    _ANEW[0] = True
    try:
        yield
    finally:
        _ANEW[0] = False


@pytest.fixture(scope="session", autouse=True)
def print_each_page_once() -> Iterator[None]:
    """For the whole session, so that module fixtures exporting packages share pages too.
    (Code that imports ``html_to_pdf`` when it is loaded, as tests of printing do, keeps the
    real one; the product imports it where it prints.)"""
    from moodle_soc.reports import pdf

    _PRINT[:] = [pdf.html_to_pdf]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf, "html_to_pdf", _print_once)
        yield


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
        os.environ[RUN_ENV] = tag = secrets.token_hex(4)
        from tests.integration.fixtures import claim_run, drop_abandoned_runs

        claim_run(tag)
        for problem in drop_abandoned_runs():
            print(f"\ncleaning up an abandoned test run failed: {problem}", file=sys.stderr)
        # pytest-xdist would hand out the files with the most tests first; keep the order of
        # pytest_collection_modifyitems below (the slowest files first) instead.
        if hasattr(config.option, "loadscopereorder"):
            config.option.loadscopereorder = False


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Once every worker is done: drop the run-wide databases the integration suite made."""
    if not _starts_the_run(session.config):
        return
    _record_file_costs(session.config)
    from tests.integration.fixtures import drop_run_databases

    for problem in drop_run_databases(os.environ[RUN_ENV]):
        print(f"\nintegration cleanup failed: {problem}", file=sys.stderr)


# --- pytest-xdist: the slowest files first, files that share session caches together ----------

#: Seconds each test file took in a whole run (setup, call and teardown of its tests).
FILE_COSTS = Path(__file__).with_name("file_costs.json")
#: What a test of a file missing from FILE_COSTS is assumed to take.
UNKNOWN_TEST_SECONDS = 0.5
#: Files that read the same session caches of tests/integration/conftest.py (the CLI and the
#: in-process scans of the restored fixtures, the demo run): one worker runs them all, so each
#: scan runs once per run rather than once per worker.
SHARED_CACHES = {
    "integration-scans": (
        "tests/integration/test_api_scan.py",
        "tests/integration/test_cli.py",
        "tests/integration/test_fixture_scans.py",
        "tests/integration/test_fixture_verdicts.py",
        "tests/integration/test_frameworks.py",
        "tests/integration/test_query_plans.py",
        "tests/integration/test_readonly.py",
        "tests/integration/test_secrets.py",
    ),
}
_GROUP_OF = {file: group for group, files in SHARED_CACHES.items() for file in files}


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _scope_of(nodeid: str) -> str:
    """What one worker runs as a whole: a file, or the files of a SHARED_CACHES group."""
    file = _file_of(nodeid)
    return _GROUP_OF.get(file, file)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadfile`` with the SHARED_CACHES groups kept whole."""
    if config.getoption("dist", None) != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedCacheScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope_of(nodeid)

    return SharedCacheScheduling(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In pytest-xdist workers, order the scopes slowest first (a file's tests keep their order).

    ``--dist loadfile`` hands out whole files in collection order as workers free up: a slow
    file handed out last runs alone at the end while the other workers idle. Slowest first, the
    short files fill the gaps at the end instead. Every worker sorts alike, so their collections
    stay identical, as pytest-xdist requires.
    """
    if _starts_the_run(config):
        return
    known: dict[str, float] = json.loads(FILE_COSTS.read_text(encoding="utf-8"))
    tests = Counter(_file_of(item.nodeid) for item in items)
    costs: defaultdict[str, float] = defaultdict(float)
    for file, count in tests.items():
        costs[_GROUP_OF.get(file, file)] += known.get(file, count * UNKNOWN_TEST_SECONDS)
    items.sort(key=lambda item: (-costs[_scope_of(item.nodeid)], _scope_of(item.nodeid)))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-file-costs",
        metavar="PATH",
        help=f"write the seconds each test file took in this run to PATH (JSON), as in "
        f"{FILE_COSTS.relative_to(FILE_COSTS.parents[1])}",
    )


_SECONDS_BY_FILE: defaultdict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _SECONDS_BY_FILE[_file_of(report.nodeid)] += report.duration


def _record_file_costs(config: pytest.Config) -> None:
    path = config.getoption("record_file_costs")
    if path and _starts_the_run(config):
        costs = {f: round(s, 1) for f, s in sorted(_SECONDS_BY_FILE.items())}
        Path(path).write_text(json.dumps(costs, indent=1) + "\n", encoding="utf-8")


def _hypothesis_profile() -> None:
    """Property tests judge results, not speed: no per-example deadline, which a machine under
    load (CI with every core busy) would otherwise turn into flaky failures."""
    from hypothesis import settings

    settings.register_profile("moodle-soc", deadline=None)
    settings.load_profile("moodle-soc")


_hypothesis_profile()
