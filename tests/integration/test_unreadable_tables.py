"""A missing privilege is not a missing table. ``information_schema`` lists only what the
user may read, so a SELECT-only user without access to ``user`` or ``task_scheduled`` used to
turn failing checks into ``not_applicable`` and raise the readiness score. Now every check
that needs such a table is an ``error`` naming the GRANT it needs."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from moodle_soc.api.scan import judge_site
from moodle_soc.results import Status

from .conftest import readonly_user, restored
from .fixtures import HARDENED, PASSWORD_ENV, STORE_ENV, WEAK, RestoredSite

REVOKED = ("task_scheduled", "user")


def test_a_table_the_user_may_not_read_is_an_error_naming_the_grant(
    request: pytest.FixtureRequest,
) -> None:
    site = restored(request, WEAK)
    user = readonly_user(request, site)
    tables = ", ".join(f"{site.prefix}{t}" for t in REVOKED)
    with site.admin.connect() as connection:
        connection.execute(sa.text(f"REVOKE SELECT ON {tables} FROM {user.name}"))
    try:
        with site.open_site(user=user.name, password=user.password) as moodle:
            assert {"task_scheduled", "user"} <= moodle.db.unreadable
            run = judge_site(moodle)
    finally:
        with site.admin.connect() as connection:
            connection.execute(sa.text(f"GRANT SELECT ON {tables} TO {user.name}"))
    reasons = [f.reason for f in run.findings]
    assert not any("does not exist" in r and any(t in r for t in REVOKED) for r in reasons)
    errors = [f for f in run.findings if f.status is Status.ERROR]
    named = [f for f in errors if f"GRANT SELECT ON {site.prefix}task_scheduled" in f.reason
             or f"GRANT SELECT ON {site.prefix}user" in f.reason]  # fmt: skip
    assert named, [f"{f.check_id}: {f.reason}" for f in errors]
    cron = [f for f in run.findings if f.check_id.startswith("operations.cron")]
    assert cron and all(f.status is Status.ERROR for f in cron), cron
    assert f"{user.name} may not read" in named[0].reason


def test_a_scan_with_unreadable_tables_says_once_it_is_incomplete_and_exits_3(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The JSON report lists the unreadable tables and their GRANTs at the top level, the
    terminal report opens with a banner, the run is stored with it, and the scan exits 3."""
    from typer.testing import CliRunner

    from moodle_soc.cli.main import app
    from moodle_soc.errors import ExitCode
    from moodle_soc.evidence.store.runs import load_run
    from moodle_soc.evidence.store.store import open_store

    site = restored(request, WEAK)
    user = readonly_user(request, site)
    tables = ", ".join(f"{site.prefix}{t}" for t in REVOKED)
    store = tmp_path / "evidence.sqlite"
    args = ["scan", "--db", site.url(user.name), "--prefix", site.prefix, "--as-of", WEAK.as_of]
    env = {PASSWORD_ENV: user.password, STORE_ENV: str(store), "COLUMNS": "200"}
    with site.admin.connect() as connection:
        connection.execute(sa.text(f"REVOKE SELECT ON {tables} FROM {user.name}"))
    try:
        done = CliRunner().invoke(app, [*args, "--format", "json"], env=env)
        terminal = CliRunner().invoke(app, [*args, "--fail-on", "critical"], env=env)
    finally:
        with site.admin.connect() as connection:
            connection.execute(sa.text(f"GRANT SELECT ON {tables} TO {user.name}"))
    assert done.exit_code == ExitCode.CANNOT_CONNECT, done.output
    grants = [
        f"GRANT SELECT ON {site.prefix}task_scheduled TO {user.name};",
        f"GRANT SELECT ON {site.prefix}user TO {user.name};",
    ]
    assert json.loads(done.stdout)["incomplete"] == {
        "unreadable_tables": [f"{site.prefix}task_scheduled", f"{site.prefix}user"],
        "grants": grants,
    }
    assert terminal.exit_code == ExitCode.CANNOT_CONNECT, terminal.output
    assert (
        f"This scan is incomplete: 2 tables could not be read ({site.prefix}task_scheduled,"
        f" {site.prefix}user), so the checks that need them are errors. Grant read access and"
        f" scan again: {grants[0]} {grants[1]}"
    ) in " ".join(terminal.stdout.split())
    with open_store(str(store)) as opened:
        runs = [load_run(opened, r) for r in opened.records(kind="run")]
    assert len(runs) == 2 and all(
        r.incomplete and list(r.incomplete.grants) == grants for r in runs
    )


def test_an_unreadable_config_table_ends_the_scan_with_exit_3_naming_the_grant(
    request: pytest.FixtureRequest,
) -> None:
    from moodle_soc.errors import ExitCode, MoodleSocError

    site = restored(request, WEAK)
    user = readonly_user(request, site)
    table = f"{site.prefix}config"
    with site.admin.connect() as connection:
        connection.execute(sa.text(f"REVOKE SELECT ON {table} FROM {user.name}"))
    try:
        with (
            pytest.raises(MoodleSocError) as caught,
            site.open_site(user=user.name, password=user.password) as moodle,
        ):
            judge_site(moodle)
    finally:
        with site.admin.connect() as connection:
            connection.execute(sa.text(f"GRANT SELECT ON {table} TO {user.name}"))
    assert caught.value.exit_code == ExitCode.CANNOT_CONNECT
    assert f"GRANT SELECT ON {table} TO {user.name}" in caught.value.message


def _column_grants(site: RestoredSite, user: str, table: str, columns: str) -> tuple[str, str, str]:
    """Revoke SELECT on ``table``, grant it on ``columns`` only; and the statement undoing it."""
    name = f'"{site.prefix}{table}"'
    return (
        f"REVOKE SELECT ON {name} FROM {user}",
        f"GRANT SELECT ({columns}) ON {name} TO {user}",
        f"GRANT SELECT ON {name} TO {user}",
    )


def test_column_level_grants_on_config_end_the_scan_naming_the_grant(
    request: pytest.FixtureRequest,
) -> None:
    """SELECT on config's id and name only (not value) used to crash: AttributeError: value."""
    from moodle_soc.errors import ExitCode, MoodleSocError

    site = restored(request, WEAK)
    user = readonly_user(request, site)
    revoke, grant, undo = _column_grants(site, user.name, "config", "id, name")
    with site.admin.connect() as connection:
        connection.execute(sa.text(revoke))
        connection.execute(sa.text(grant))
    try:
        with (
            pytest.raises(MoodleSocError) as caught,
            site.open_site(user=user.name, password=user.password) as moodle,
        ):
            judge_site(moodle)
    finally:
        with site.admin.connect() as connection:
            connection.execute(sa.text(undo))
    assert caught.value.exit_code == ExitCode.CANNOT_CONNECT
    assert f"GRANT SELECT ON {site.prefix}config TO {user.name}" in caught.value.message


def test_column_level_grants_on_user_are_errors_naming_the_grant(
    request: pytest.FixtureRequest,
) -> None:
    """SELECT on user's id and username only used to crash: KeyError: 'confirmed'."""
    site = restored(request, WEAK)
    user = readonly_user(request, site)
    revoke, grant, undo = _column_grants(site, user.name, "user", "id, username")
    with site.admin.connect() as connection:
        connection.execute(sa.text(revoke))
        connection.execute(sa.text(grant))
    try:
        with site.open_site(user=user.name, password=user.password) as moodle:
            run = judge_site(moodle)
    finally:
        with site.admin.connect() as connection:
            connection.execute(sa.text(undo))
    errors = [f for f in run.findings if f.status is Status.ERROR]
    named = [f for f in errors if f"GRANT SELECT ON {site.prefix}user TO" in f.reason]
    assert named, [f"{f.check_id}: {f.reason}" for f in errors]


@pytest.fixture
def mariadb_column_user(request: pytest.FixtureRequest) -> Iterator[tuple[RestoredSite, str, str]]:
    """A MariaDB login granted SELECT table by table (as a careful DBA might), with config
    readable only in its id and name columns."""
    site = restored(request, HARDENED)
    name, password = f"msoc_cols_{os.getpid()}", "Cols-" + secrets.token_urlsafe(12)
    with site.admin.connect() as connection:
        tables = [str(r[0]) for r in connection.execute(sa.text("SHOW TABLES"))]
    config = f"{site.prefix}config"
    statements = [f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'"]
    statements += [
        f"GRANT SELECT ON `{site.database}`.`{t}` TO '{name}'@'%'" for t in tables if t != config
    ]
    statements.append(f"GRANT SELECT (id, name) ON `{site.database}`.`{config}` TO '{name}'@'%'")
    site.server.execute(*statements)
    try:
        yield site, name, password
    finally:
        site.server.execute(f"DROP USER IF EXISTS '{name}'@'%'")


def test_column_level_grants_on_config_end_the_scan_on_mariadb_too(
    mariadb_column_user: tuple[RestoredSite, str, str],
) -> None:
    from moodle_soc.errors import ExitCode, MoodleSocError

    site, name, password = mariadb_column_user
    with (
        pytest.raises(MoodleSocError) as caught,
        site.open_site(user=name, password=password) as moodle,
    ):
        judge_site(moodle)
    assert caught.value.exit_code == ExitCode.CANNOT_CONNECT
    assert f"GRANT SELECT ON {site.prefix}config TO {name}" in caught.value.message
