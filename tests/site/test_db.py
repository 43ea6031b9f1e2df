"""Queries of one scan: a failed one leaves the shared snapshot usable, each costs one round trip,
and the provenance recorded is the SQL that ran (a real PostgreSQL server on 127.0.0.1:5432,
reached as postgres, and SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.site.conftest import admin_engine, maria_url, pg_url, temporary_database

from moodle_soc.errors import ExitCode
from moodle_soc.site.db import Database, QueryFailedError
from moodle_soc.site.session import make_engine


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    """A temporary database with a three-row mdl_config; dropped after."""
    with temporary_database("postgresql", "msoc_db") as name:
        with admin_engine(pg_url(name)).connect() as connection:
            connection.exec_driver_sql("CREATE TABLE mdl_config (id SERIAL, name TEXT, value TEXT)")
            connection.exec_driver_sql(
                "INSERT INTO mdl_config (name, value) VALUES ('a', '1'), ('b', '2'), ('c', '3')"
            )
            # for a reader holding privileges on some tables, some columns, or nothing
            connection.exec_driver_sql(
                "CREATE TABLE mdl_user (id INT, username TEXT, password TEXT)"
            )
            connection.exec_driver_sql("ALTER TABLE mdl_user DROP COLUMN password")
            connection.exec_driver_sql("CREATE TABLE mdl_sessions (id INT, sid TEXT)")
            connection.exec_driver_sql("CREATE VIEW mdl_names AS SELECT name FROM mdl_config")
            connection.exec_driver_sql("CREATE TABLE other_table (id INT)")
            connection.exec_driver_sql(f"CREATE ROLE {name} LOGIN")
            connection.exec_driver_sql(f"GRANT SELECT ON mdl_config, mdl_names TO {name}")
            connection.exec_driver_sql(f"GRANT SELECT (username) ON mdl_user TO {name}")
        yield name


def _statements(engine: sa.Engine) -> list[str]:
    """Every statement the engine sends from now on."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", record)
    return sent


def test_a_failed_query_leaves_the_snapshot_for_the_next_one(pg: str) -> None:
    db = Database(engine=make_engine(pg_url(pg)), prefix="mdl_", display_url="pg")
    try:
        count = sa.text("SELECT count(*) FROM mdl_config")
        assert db.scalar(count, "test: rows") == 3
        with admin_engine(
            pg_url(pg)
        ).connect() as other:  # committed after the scan's snapshot was taken
            other.exec_driver_sql("INSERT INTO mdl_config (name, value) VALUES ('d', '4')")
        with pytest.raises(QueryFailedError, match=r"^Query 'test: fails' failed: division by"):
            db.scalar(sa.text("SELECT 1 / (count(*) - 3) FROM mdl_config"), "test: fails")
        # PostgreSQL would refuse every later statement of an aborted transaction; the row
        # committed meanwhile stays invisible: still the same snapshot.
        assert db.scalar(count, "test: rows again") == 3
        with pytest.raises(QueryFailedError, match="test: fails again"):
            db.scalar(sa.text("SELECT * FROM mdl_no_such_table"), "test: fails again")
        assert db.scalar(count, "test: rows once more") == 3
    finally:
        db.close()


def test_each_query_is_one_round_trip(pg: str) -> None:
    db = Database(engine=make_engine(pg_url(pg)), prefix="mdl_", display_url="pg")
    sent = _statements(db.engine)
    try:
        for n in range(5):
            db.scalar(sa.text(f"SELECT {n}"), "test: one query")
    finally:
        db.close()
    queries = [s for s in sent if s.startswith("SELECT ")]
    assert queries == [f"SELECT {n}" for n in range(5)]
    # Opening the session: read-only, timeout, check, and the scan's one savepoint.
    assert [s for s in sent if "SAVEPOINT" in s] == ["SAVEPOINT moodle_soc_scan"]
    assert len(sent) - len(queries) <= 4


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_the_recorded_sql_is_the_statement_that_ran(pg: str, backend: str, tmp_path: Path) -> None:
    """IN-lists written out and the values by name, as a ``render_postcompile`` compile of
    the statement gives them (the way they were recorded when each query was compiled twice)."""
    url = pg_url(pg)
    if backend == "sqlite":
        url = sa.make_url(f"sqlite:///{tmp_path / 'site.sqlite'}")
        with sa.create_engine(url).begin() as connection:
            connection.exec_driver_sql("CREATE TABLE mdl_config (name TEXT, value TEXT)")
    db = Database(engine=make_engine(url), prefix="mdl_", display_url=backend)
    sent = _statements(db.engine)
    try:
        config = sa.table("mdl_config", sa.column("name"), sa.column("value"))
        query = (
            sa.select(config.c.value)
            .where(config.c.name.in_(["a", "c"]), config.c.value != "x")
            .order_by(config.c.value)
        )
        db.fetch_all(query, "test: two settings")
    finally:
        db.close()
    again = query.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    record = db.records[-1]
    assert record.sql == " ".join(str(again).split()) == sent[-1]
    assert list(record.params.items()) == list(again.params.items())
    assert sorted(record.params.values()) == ["a", "c", "x"]


@pytest.mark.parametrize("user", ["owner", "reader"])
def test_the_column_listing_is_information_schemas(pg: str, user: str) -> None:
    """The catalogue query lists what ``information_schema.columns`` lists (for the owner
    everything, for a reader only the columns it holds a privilege on), in the same order."""
    url = pg_url(pg, user="postgres" if user == "owner" else pg)
    db = Database(engine=make_engine(url), prefix="mdl_", display_url="pg")
    try:
        listed = db.columns
        expected: dict[str, list[str]] = {}
        for table, column in db.connection.exec_driver_sql(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        ):
            if table.startswith("mdl_"):
                expected.setdefault(table[4:], []).append(column)
    finally:
        db.close()
    assert listed == {table: tuple(columns) for table, columns in expected.items()}
    if user == "owner":
        assert listed["user"] == ("id", "username") and "sessions" in listed
    else:
        assert listed == {"config": ("id", "name", "value"), "names": ("name",),
                          "user": ("username",)}  # fmt: skip


@pytest.fixture(scope="module")
def maria() -> Iterator[str]:
    """A temporary MariaDB database with a three-row InnoDB mdl_config; dropped after."""
    with temporary_database("mariadb", "msoc_db") as name:
        with admin_engine(maria_url(name)).connect() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE mdl_config (id INT AUTO_INCREMENT PRIMARY KEY,"
                " name TEXT, value TEXT) ENGINE=InnoDB"
            )
            connection.exec_driver_sql(
                "INSERT INTO mdl_config (name, value) VALUES ('a', '1'), ('b', '2'), ('c', '3')"
            )
        yield name


def test_a_failed_query_leaves_the_snapshot_on_mariadb(maria: str) -> None:
    """InnoDB undoes a failed statement alone; rolling back to a savepoint taken before the
    scan's first read would drop its read view, and later checks would judge a newer site."""
    db = Database(engine=make_engine(maria_url(maria)), prefix="mdl_", display_url="maria")
    other = admin_engine(maria_url(maria))
    sent = _statements(db.engine)
    try:
        count = sa.text("SELECT count(*) FROM mdl_config")
        assert db.scalar(count, "test: rows") == 3
        with other.connect() as connection:  # committed after the scan's snapshot was taken
            connection.exec_driver_sql("INSERT INTO mdl_config (name, value) VALUES ('d', '4')")
        with pytest.raises(QueryFailedError, match="test: fails") as caught:
            db.scalar(sa.text("SELECT * FROM mdl_no_such_table"), "test: fails")
        # Where a failed query ends a command (``logs``), the site could not be read: exit 3.
        assert caught.value.exit_code == ExitCode.CANNOT_CONNECT
        assert db.scalar(count, "test: rows again") == 3
    finally:
        db.close()
        other.dispose()
    assert not [s for s in sent if "SAVEPOINT" in s]
