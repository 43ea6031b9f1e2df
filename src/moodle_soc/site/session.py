"""Read-only, time-limited database sessions: set up on the open session, then verified.

Everything that could loosen a session acts while it connects: libpq ``options`` in a URL
(``-c default_transaction_read_only=off``), a role's ``ALTER ROLE ... SET``, a MySQL
``init_command``. So nothing here is a connect option: each new session is told to be read-only
and time-limited once it is open, and the scan's own transaction must then report itself
read-only (``SHOW transaction_read_only`` and its MySQL and SQLite equivalents), or the scan
stops before reading anything.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from moodle_soc.errors import CannotConnectError

STATEMENT_TIMEOUT_SECONDS = 120
CONNECT_TIMEOUT_SECONDS = 10
#: An unquoted SQL identifier, as PostgreSQL reads a schema name (at most 63 bytes).
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


def is_plain_identifier(name: str) -> bool:
    """Whether ``name`` is a plain SQL identifier (no spaces, quotes or options to smuggle)."""
    return _PLAIN_NAME.fullmatch(name) is not None


def make_engine(url: sa.URL) -> Engine:
    """An engine for one connection; ``start_read_only`` makes each session read-only."""
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        connect_args = {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": "moodle-soc",
        }
    elif backend in ("mysql", "mariadb"):
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)


def _is_mariadb(connection: Connection) -> bool:
    return bool(getattr(connection.dialect, "is_mariadb", False))


def start_read_only(
    connection: Connection,
    schema: str | None = None,
    timeout_seconds: float = STATEMENT_TIMEOUT_SECONDS,
) -> None:
    """Make a newly opened session read-only and time-limited (each statement at most
    ``timeout_seconds``; and read ``schema``), then commit, so the settings hold for the
    session's every later transaction."""
    backend = connection.dialect.name
    millis = max(1, round(timeout_seconds * 1000))
    run = connection.exec_driver_sql
    if backend == "postgresql":
        run("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        run(f"SET statement_timeout = {millis}")
        if schema is not None:
            if not is_plain_identifier(schema):
                raise CannotConnectError(f"Schema name {schema[:64]!r} is not a plain SQL name.")
            # set_config takes the name as a bound value: nothing in it is read as SQL
            connection.execute(
                sa.text("SELECT set_config('search_path', :schema, false)"), {"schema": schema}
            )
    elif backend in ("mysql", "mariadb"):
        run("SET SESSION TRANSACTION READ ONLY")
        if _is_mariadb(connection):
            run(f"SET SESSION max_statement_time = {millis / 1000:g}")
        else:
            run(f"SET SESSION max_execution_time = {millis}")
    elif backend == "sqlite":
        run("PRAGMA query_only = ON")
    connection.commit()


def require_read_only(connection: Connection, display_url: str) -> None:
    """Refuse a session whose current transaction could write (CannotConnectError)."""
    backend = connection.dialect.name
    if backend == "postgresql":
        variable, read_only = "transaction_read_only", "on"
        value = connection.exec_driver_sql("SHOW transaction_read_only").scalar()
    elif backend in ("mysql", "mariadb"):
        # MariaDB before 11.1 and MySQL before 5.7.20 only know tx_read_only; MySQL 8 only
        # transaction_read_only.
        variable = "tx_read_only" if _is_mariadb(connection) else "transaction_read_only"
        value = connection.exec_driver_sql(f"SELECT @@session.{variable}").scalar()
        read_only = "1"
    else:
        variable, read_only = "query_only", "1"
        value = connection.exec_driver_sql("PRAGMA query_only").scalar()
    if str(value).lower() != read_only:
        raise CannotConnectError(
            f"Refusing to read {display_url}: the database session is not read-only"
            f" ({variable} is {value}), so moodle-soc cannot promise to change nothing."
        )
