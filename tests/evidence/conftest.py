"""Fixtures of the evidence-store tests: stores on SQLite and PostgreSQL, real scans, the CLI.

PostgreSQL stores live in a throwaway database on the local server (created for the session,
dropped after it), in a fresh schema per test. Outside CI an unreachable server skips the
PostgreSQL variants; with ``CI=true`` it fails them, so a broken CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.store.store import EvidenceStore, open_store
from moodle_soc.models.run import AuditRun
from moodle_soc.policy import Policy
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.acme import build_acme

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_STORE_URL = "postgresql://postgres@127.0.0.1:5432/{name}"
CLI = Path(sys.executable).with_name("moodle-soc")
# Three audits of the synthetic Acme site, a fortnight apart (the site's "now" is 2026-11-29).
AUDIT_TIMES = (
    datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
    datetime(2026, 11, 15, 9, 0, tzinfo=UTC),
    datetime(2026, 11, 29, 9, 0, tzinfo=UTC),
)

CliRun = Callable[..., "subprocess.CompletedProcess[str]"]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def run_cli(
    *args: str, cwd: Path, env: dict[str, str | None] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``moodle-soc ARGS`` in a subprocess, output captured as text (wide, no colour).

    ``env`` adds variables to the environment, or removes those given as None.
    """
    environment = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.run(
        [str(CLI), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli(tmp_path: Path) -> CliRun:
    """Run the CLI in the test's own directory (so no stray moodle-soc.yaml applies)."""

    def run(
        *args: str, env: dict[str, str | None] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=tmp_path, env=env, timeout=timeout)

    return run


@pytest.fixture(scope="session")
def moodle_soc() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_cli`` for fixtures wider than one test (pass ``cwd=``)."""
    return run_cli


# --- real scan runs of synthetic sites ----------------------------------------------------------


@dataclass(frozen=True)
class Scans:
    acme: tuple[AuditRun, ...]  # Acme Academy at AUDIT_TIMES
    other: AuditRun  # a second synthetic site (another seed, so another siteidentifier)


def _scan(builder_seed: int, times: tuple[datetime, ...]) -> list[AuditRun]:
    builder = build_acme(users=40, seed=builder_seed)
    engine = builder.sqlite_memory()
    runs = []
    for moment in times:
        db = Database(engine=engine, prefix=builder.prefix, display_url="sqlite://(memory)")
        runs.append(run_scan(ScanContext(MoodleSite(db, audit_time=moment), Policy())))
    engine.dispose()
    return runs


@pytest.fixture(scope="session")
def scans() -> Scans:
    acme = _scan(2026, AUDIT_TIMES)
    (other,) = _scan(7, AUDIT_TIMES[-1:])
    assert other.site.siteidentifier != acme[0].site.siteidentifier
    return Scans(acme=tuple(acme), other=other)


@pytest.fixture(scope="session")
def acme_site_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic Acme site as a SQLite file, written by ``moodle-soc demo --site-db``."""
    where = tmp_path_factory.mktemp("acme-site")
    path = where / "acme.sqlite"
    done = run_cli(
        "demo", "--site-db", str(path), "--users", "40", "-o", str(where / "demo.html"), cwd=where
    )
    assert done.returncode == 0, done.stderr
    assert path.is_file()
    return path


# --- stores ------------------------------------------------------------------------------------


def unavailable(message: str) -> None:
    if in_ci():
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session, dropped at its end."""
    name = f"msoc_evidence_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            # Commits need not wait for the WAL to reach the disk: a test never outlives a
            # server crash, and the stores' tests commit thousands of times.
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except sa.exc.OperationalError as error:
        admin.dispose()
        unavailable(f"PostgreSQL at 127.0.0.1:5432 is unreachable: {error.orig}")
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_store_url(pg_database: str) -> Iterator[str]:
    """A store URL whose tables land in a new, empty schema of the session's database.

    (A schema per test rather than a database per test: dropping a database costs seconds.)
    """
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = PG_STORE_URL.format(name=pg_database)
    engine = sa.create_engine(
        url.replace("postgresql:", "postgresql+psycopg:"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)],
)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh store lives: a SQLite file, or a throwaway PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_store_url"))
    return str(tmp_path / "store" / "evidence.sqlite")


@pytest.fixture
def store(store_location: str) -> Iterator[EvidenceStore]:
    with open_store(store_location, create=True) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[EvidenceStore]:
    """A fresh SQLite store (``evidence.sqlite`` in the test's directory), closed after it."""
    with open_store(str(tmp_path / "evidence.sqlite"), create=True) as opened:
        yield opened


def drop_guards(store: EvidenceStore) -> None:
    """What an attacker with database access does first: remove the append-only triggers."""
    with store.engine.begin() as connection:
        if store.engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER evidence_records_no_update")
            connection.exec_driver_sql("DROP TRIGGER evidence_records_no_delete")
        else:
            connection.exec_driver_sql("DROP TRIGGER evidence_records_guard ON evidence_records")


@pytest.fixture
def unguarded() -> Callable[[EvidenceStore], None]:
    return drop_guards


# --- recording runs "live" at a past audit time -----------------------------------------------

StoreLive = Callable[[EvidenceStore, AuditRun], Any]


def store_run_live(store: EvidenceStore, run: AuditRun) -> Any:
    """Store ``run`` as if recorded a minute after its audit time (the store's clock is
    injected for this one append), so a period report counts it as monitoring."""
    from datetime import timedelta

    from moodle_soc.evidence.store.runs import store_run

    kept = store.clock
    store.clock = lambda: run.audit_time + timedelta(minutes=1)
    try:
        return store_run(store, run)
    finally:
        store.clock = kept


@pytest.fixture(scope="session")
def store_live() -> StoreLive:
    """``store_run_live``: a run recorded contemporaneously at its (past) audit time."""
    return store_run_live
