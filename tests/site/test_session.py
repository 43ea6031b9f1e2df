"""Sessions are read-only and time-limited whatever the connection options say, on a real
PostgreSQL server (a temporary database on 127.0.0.1:5432, reached as postgres)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from moodle_soc.errors import CannotConnectError
from moodle_soc.site.db import Database
from moodle_soc.site.session import (
    STATEMENT_TIMEOUT_SECONDS,
    is_plain_identifier,
    make_engine,
    require_read_only,
)

HOST, PORT = "127.0.0.1", int(os.environ.get("MOODLE_SOC_PG_PORT", "5432"))
#: Connect options trying to undo every protection (libpq passes them as the session starts).
LOOSENING = (
    "-c default_transaction_read_only=off -c statement_timeout=0 -c transaction_read_only=off"
)


def _url(database: str, user: str = "postgres", **query: str) -> sa.URL:
    return sa.URL.create(
        "postgresql+psycopg", username=user, host=HOST, port=PORT, database=database, query=query
    )


def _admin(database: str = "postgres") -> sa.Engine:
    return sa.create_engine(
        _url(database), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool,
        connect_args={"connect_timeout": 5},
    )  # fmt: skip


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    """A temporary database with mdl_config in public and in schema msoc; dropped after."""
    name = f"msoc_session_{secrets.token_hex(4)}"
    server = _admin()
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL on {HOST}:{PORT} is needed: {exc.orig}")
        pytest.skip(f"no PostgreSQL on {HOST}:{PORT}")
    try:
        with _admin(name).connect() as connection:
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
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            connection.exec_driver_sql(f"DROP ROLE IF EXISTS {name}")
        server.dispose()


def _database(url: sa.URL, schema: str | None = None) -> Database:
    return Database(engine=make_engine(url), prefix="mdl_", display_url="pg", schema=schema)


@pytest.mark.parametrize(
    "connect",
    [
        pytest.param(lambda name: _url(name), id="plain"),
        pytest.param(lambda name: _url(name, options=LOOSENING), id="loosening-options"),
        pytest.param(lambda name: _url(name, user=name), id="role-set-read-write"),
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
    with _admin(pg).connect() as admin:
        assert admin.exec_driver_sql("SELECT COUNT(*) FROM mdl_config").scalar() == 1


def test_a_session_that_is_not_read_only_is_refused(pg: str) -> None:
    """What require_read_only sees on a session nobody made read-only (the role's default)."""
    engine = sa.create_engine(_url(pg, user=pg), poolclass=sa.pool.NullPool)
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
    db = _database(_url(pg), schema="msoc")
    try:
        assert db.has_table("config")
        value = db.scalar(sa.text("SELECT value FROM mdl_config"), "test: which schema")
        assert value == "msoc"
    finally:
        db.close()


def test_a_schema_that_is_not_a_plain_name_is_refused_before_use(pg: str) -> None:
    db = _database(_url(pg), schema="public -c default_transaction_read_only=off")
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
