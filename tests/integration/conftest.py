"""Session fixtures of the integration suite: restored real sites, SELECT-only users, scans.

Everything is session-scoped and restored only when needed: a run that selects one test
restores only the database that test needs. The copies the selected tests need start restoring
in parallel as soon as collection ends, so they overlap each other and the tests that need no
database. Each scan (in-process or through the CLI) runs once per session however many tests
read it; the CLI scans of one site start together, in parallel, on first use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .fixtures import (
    CLEANUP,
    FIXTURE_SITES,
    HARDENED,
    LEGACY,
    MARIADB,
    PASSWORD_ENV,
    POSTGRES,
    WEAK,
    FixtureSite,
    ReadOnlyUser,
    RestoredSite,
    Server,
    new_tag,
    restore_fixture,
    run_cli,
    sqlite_text,
    unavailable,
)

HERE = Path(__file__).parent
#: Names whose use in a test (or a fixture of it that calls ``restored``) means it needs a copy.
_SITE_NAMES = {
    "WEAK": ("weak",),
    "HARDENED": ("hardened",),
    "LEGACY": ("legacy",),
    "FIXTURE_SITES": tuple(f.key for f in FIXTURE_SITES),
    "weak_db": ("weak",),
    "hardened_db": ("hardened",),
    "legacy_db": ("legacy",),
}


def _ours(item: pytest.Item) -> bool:
    return HERE in Path(str(item.fspath)).parents


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _ours(item):
            item.add_marker(pytest.mark.integration)


def _needed_sites(items: list[pytest.Item]) -> set[str]:
    """Which restored copies the selected tests will ask for (a guess that errs small)."""
    keys: set[str] = set()
    for item in items:
        if not _ours(item):
            continue
        names = set(getattr(item, "fixturenames", ()))
        for name in names:
            keys.update(_SITE_NAMES.get(name, ()))
        functions = [getattr(item, "function", None)]
        info = getattr(item, "_fixtureinfo", None)
        for defs in getattr(info, "name2fixturedefs", {}).values():
            functions += [getattr(d, "func", None) for d in defs]
        for function in functions:
            code = getattr(function, "__code__", None)
            if code is None or "restored" not in code.co_names:
                continue
            for name in code.co_names:
                keys.update(_SITE_NAMES.get(name, ()))
            callspec = getattr(item, "callspec", None)
            for value in getattr(callspec, "params", {}).values():
                if isinstance(value, FixtureSite):
                    keys.add(value.key)
    return keys


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start restoring every copy the selected tests need, in parallel, before they run."""
    if session.config.option.collectonly:
        return
    needed = _needed_sites(session.items)
    for fixture in FIXTURE_SITES:
        if fixture.key in needed:
            PREFETCH.start(fixture)


def pytest_sessionfinish(session: pytest.Session) -> None:
    PREFETCH.drop_all()
    problems = CLEANUP.finish()
    for problem in problems:
        print(f"\nintegration cleanup failed: {problem}", file=sys.stderr)


SESSION_TAG = new_tag()


class Prefetch:
    """The session's restored copies: restored in the background, each at most once."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future[RestoredSite]] = {}

    def start(self, fixture: FixtureSite) -> None:
        if fixture.key not in self._futures:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="msoc-restore")
            self._futures[fixture.key] = self._pool.submit(restore_fixture, fixture, SESSION_TAG)

    def get(self, fixture: FixtureSite) -> RestoredSite:
        """The copy of ``fixture`` (restoring it now if nobody asked before); skips or fails
        the calling test as ``restore_fixture`` would when a fixture or server is missing."""
        self.start(fixture)
        return self._futures[fixture.key].result()

    def drop_all(self) -> None:
        for future in self._futures.values():
            try:
                site = future.result()
            except BaseException:  # never restored (skipped, failed): nothing to drop
                continue
            site.drop()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._pool, self._futures = None, {}


PREFETCH = Prefetch()


@pytest.fixture(scope="session")
def session_tag() -> str:
    """8 hex digits naming this session's databases and users."""
    return SESSION_TAG


def _restored(fixture: FixtureSite, tag: str) -> Iterator[RestoredSite]:
    """Dropped at session end with the rest (``pytest_sessionfinish``)."""
    assert tag == SESSION_TAG
    yield PREFETCH.get(fixture)


@pytest.fixture(scope="session")
def weak_db(session_tag: str) -> Iterator[RestoredSite]:
    yield from _restored(WEAK, session_tag)


@pytest.fixture(scope="session")
def hardened_db(session_tag: str) -> Iterator[RestoredSite]:
    yield from _restored(HARDENED, session_tag)


@pytest.fixture(scope="session")
def legacy_db(session_tag: str) -> Iterator[RestoredSite]:
    yield from _restored(LEGACY, session_tag)


def restored(request: pytest.FixtureRequest, fixture: FixtureSite) -> RestoredSite:
    """The session's restored copy of ``fixture`` (restoring it on first use)."""
    site: RestoredSite = request.getfixturevalue(f"{fixture.key}_db")
    return site


def _server_or_skip(server: Server) -> Server:
    problem = server.ping()
    if problem is not None:
        unavailable(f"No {server.kind} server at 127.0.0.1:{server.port} ({problem}).")
    return server


@pytest.fixture(scope="session")
def postgres() -> Server:
    return _server_or_skip(POSTGRES)


@pytest.fixture(scope="session")
def mariadb() -> Server:
    return _server_or_skip(MARIADB)


def _readonly_user(server: Server, tag: str) -> Iterator[ReadOnlyUser]:
    user = ReadOnlyUser.create(server, tag)
    try:
        yield user
    finally:
        user.drop()


@pytest.fixture(scope="session")
def pg_readonly(postgres: Server, session_tag: str) -> Iterator[ReadOnlyUser]:
    yield from _readonly_user(postgres, session_tag)


@pytest.fixture(scope="session")
def mariadb_readonly(mariadb: Server, session_tag: str) -> Iterator[ReadOnlyUser]:
    yield from _readonly_user(mariadb, session_tag)


def readonly_user(request: pytest.FixtureRequest, site: RestoredSite) -> ReadOnlyUser:
    """A SELECT-only login on ``site``'s server, granted on ``site``'s database."""
    name = "pg_readonly" if site.server.kind == "postgresql" else "mariadb_readonly"
    user: ReadOnlyUser = request.getfixturevalue(name)
    user.grant(site.database)
    return user


# --- scans, each run once per session ------------------------------------------------------------

#: The CLI scans of each fixture: who connects, how, and in which format.
CLI_KINDS = ("config-json", "ro-json", "ro-html", "ro-terminal")


@dataclass
class CliScan:
    kind: str
    args: list[str]
    done: subprocess.CompletedProcess[str]
    report: str | None = None  # the -o file's content
    store: Path | None = None  # the evidence store the run was recorded in

    @property
    def outputs(self) -> dict[str, str]:
        """Every byte the run produced a user could see or keep."""
        found = {"stdout": self.done.stdout, "stderr": self.done.stderr}
        if self.report is not None:
            found["report"] = self.report
        if self.store is not None:
            found["evidence store"] = sqlite_text(self.store)
        return found

    def json(self) -> dict[str, Any]:
        """The JSON report with every finding in full (joined with its check)."""
        from moodle_soc.models.run import AuditRun

        return AuditRun.model_validate(json.loads(self.done.stdout)).expanded()


@dataclass
class Scans:
    """Session cache of scans of the restored fixtures."""

    workdir: Path
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=6))
    runs: dict[str, Any] = field(default_factory=dict)
    cli_futures: dict[tuple[str, str], Future[CliScan]] = field(default_factory=dict)

    def run(self, site: RestoredSite) -> Any:
        """The in-process scan of ``site`` (``api.judge_site``) as the administrator, with its
        config.php.

        Like ``moodle-soc scan``, it has an (empty) evidence store, which the checks that read
        earlier evidence (review campaigns) consult.
        """
        key = site.fixture.key
        if key not in self.runs:
            from moodle_soc.api.scan import judge_site
            from moodle_soc.api.stores import open_evidence_store

            location = str(self.workdir / f"{key}-in-process-evidence.sqlite")
            with site.open_site() as moodle, open_evidence_store(location, create=True) as store:
                self.runs[key] = judge_site(moodle, store=store)
        return self.runs[key]

    def cli(self, site: RestoredSite, kind: str, user: ReadOnlyUser) -> CliScan:
        """One CLI scan of ``site``; the first call starts all of that site's CLI scans."""
        key = site.fixture.key
        if (key, kind) not in self.cli_futures:
            for each in CLI_KINDS:
                self.cli_futures[(key, each)] = self.pool.submit(self._cli, site, each, user)
        return self.cli_futures[(key, kind)].result()

    def _cli(self, site: RestoredSite, kind: str, user: ReadOnlyUser) -> CliScan:
        fixture = site.fixture
        out = self.workdir / f"{fixture.key}-{kind}"
        out.mkdir(parents=True, exist_ok=True)
        as_of = ["--as-of", fixture.as_of]
        if kind == "config-json":
            # The administrator (trust / empty password), through a rewritten config.php.
            config = site.write_config_php(out)
            args = ["scan", "--config", str(config), *as_of, "--format", "json"]
            env = {PASSWORD_ENV: ""}
        else:
            env = {PASSWORD_ENV: user.password}
            if kind == "ro-terminal":
                # A --db URL without a password (it comes from the environment), no config.php.
                wwwroot = _config_value(site, "wwwroot")
                args = ["scan", "--db", site.url(user.name), "--prefix", fixture.prefix]
                args += ["--wwwroot", wwwroot, *as_of, "--verbose"]
            else:
                config = site.write_config_php(out, user.name)
                args = ["scan", "--config", str(config), *as_of]
                if kind == "ro-html":
                    args += ["--format", "html", "--output", str(out / "report.html")]
                else:
                    args += ["--format", "json"]
        done = run_cli(*args, cwd=out, env=env)
        report_file = out / "report.html"
        report = report_file.read_text(encoding="utf-8") if report_file.exists() else None
        store = out / "evidence.sqlite"
        return CliScan(kind, args, done, report, store if store.exists() else None)


def _config_value(site: RestoredSite, key: str) -> str:
    from moodle_soc.site.phpconfig import parse_config_php

    value = parse_config_php(site.config_php_text()).get(key)
    assert isinstance(value, str), f"{site.fixture.config_file} has no literal $CFG->{key}"
    return value


@pytest.fixture(scope="session")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scans]:
    cache = Scans(workdir=tmp_path_factory.mktemp("scans"))
    try:
        yield cache
    finally:
        cache.pool.shutdown(wait=True, cancel_futures=True)


# --- the synthetic demo site, built and scanned once through the CLI ---------------------------


@dataclass
class DemoRun:
    workdir: Path
    done: subprocess.CompletedProcess[str]
    report: Path
    site_db: Path

    @property
    def html(self) -> str:
        return self.report.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``moodle-soc demo -o tmp/report.html``, keeping the synthetic SQLite site it scanned."""
    workdir = tmp_path_factory.mktemp("demo")
    (workdir / "tmp").mkdir()
    done = run_cli(
        "demo", "-o", "tmp/report.html", "--users", "120", "--site-db", "acme.sqlite", cwd=workdir
    )
    return DemoRun(workdir, done, workdir / "tmp" / "report.html", workdir / "acme.sqlite")


__all__ = ["FIXTURE_SITES", "HARDENED", "LEGACY", "WEAK", "CliScan", "Scans"]
