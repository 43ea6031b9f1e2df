"""Sessions are read-only and time-limited whatever the connection options say, on a real
PostgreSQL server (a temporary database on 127.0.0.1:5432, reached as postgres)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from tests.site.conftest import admin_engine, pg_url, temporary_database

from moodle_soc.errors import CannotConnectError
from moodle_soc.site.db import Database
from moodle_soc.site.session import (
    STATEMENT_TIMEOUT_SECONDS,
    is_plain_identifier,
    make_engine,
    require_read_only,
)

#: Connect options trying to undo every protection (libpq passes them as the session starts).
LOOSENING = (
    "-c default_transaction_read_only=off -c statement_timeout=0 -c transaction_read_only=off"
)


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    """A temporary database with mdl_config in public and in schema msoc; dropped after."""
    with temporary_database("postgresql", "msoc_session") as name:
        with admin_engine(pg_url(name)).connect() as connection:
            for schema in ("public", "msoc"):
                connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                connection.exec_driver_sql(
                    f"CREATE TABLE {schema}.mdl_config (id SERIAL, name TEXT, value TEXT)"
                )
                connection.exec_driver_sql(
                    f"INSERT INTO {schema}.mdl_config (name, value) VALUES ('where', '{schema}')"
                )
            connection.exec_driver_sql(f"CREATE ROLE {name} LOGIN")
            connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA msoc TO {name}")
            connection.exec_driver_sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public, msoc TO {name}")
            connection.exec_driver_sql(f"ALTER ROLE {name} SET default_transaction_read_only = off")
        yield name


def _database(url: sa.URL, schema: str | None = None) -> Database:
    return Database(engine=make_engine(url), prefix="mdl_", display_url="pg", schema=schema)


@pytest.mark.parametrize(
    "connect",
    [
        pytest.param(lambda name: pg_url(name), id="plain"),
        pytest.param(lambda name: pg_url(name, options=LOOSENING), id="loosening-options"),
        pytest.param(lambda name: pg_url(name, user=name), id="role-set-read-write"),
    ],
)
def test_no_connect_option_makes_the_session_writable(pg: str, connect: Any) -> None:
    db = _database(connect(pg))
    try:
        connection = db.connection
        assert connection.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
        assert connection.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"
        timeout = connection.exec_driver_sql("SHOW statement_timeout").scalar()
        assert timeout == f"{STATEMENT_TIMEOUT_SECONDS}s" or timeout == "2min", timeout
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            connection.exec_driver_sql("INSERT INTO mdl_config (name, value) VALUES ('x', 'y')")
    finally:
        db.close()
    with admin_engine(pg_url(pg)).connect() as admin:
        assert admin.exec_driver_sql("SELECT COUNT(*) FROM mdl_config").scalar() == 1


def test_a_session_that_is_not_read_only_is_refused(pg: str) -> None:
    """What require_read_only sees on a session nobody made read-only (the role's default)."""
    engine = sa.create_engine(pg_url(pg, user=pg), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection, pytest.raises(CannotConnectError) as caught:
            require_read_only(connection, "postgresql://x@db/moodle")
    finally:
        engine.dispose()
    assert re.fullmatch(
        r"Refusing to read postgresql://x@db/moodle: the database session is not read-only"
        r" \(transaction_read_only is off\), .*\.",
        caught.value.message,
    )


def test_the_schema_is_set_after_connecting(pg: str) -> None:
    db = _database(pg_url(pg), schema="msoc")
    try:
        assert db.has_table("config")
        value = db.scalar(sa.text("SELECT value FROM mdl_config"), "test: which schema")
        assert value == "msoc"
    finally:
        db.close()


def test_a_schema_that_is_not_a_plain_name_is_refused_before_use(pg: str) -> None:
    db = _database(pg_url(pg), schema="public -c default_transaction_read_only=off")
    with pytest.raises(CannotConnectError, match="is not a plain SQL name"):
        db.connection  # noqa: B018
    db.close()


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("public", True),
        ("moodle_2", True),
        ("Ünïcode", False),
        ("public -c default_transaction_read_only=off", False),
        ('"quoted"', False),
        ("a;b", False),
        ("", False),
        ("x" * 64, False),
    ],
)
def test_only_plain_identifiers_are_schema_names(name: str, plain: bool) -> None:
    assert is_plain_identifier(name) is plain
