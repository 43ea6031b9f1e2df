"""The local database servers the site-layer tests talk to, and throwaway databases on them
(PostgreSQL on 127.0.0.1:5432 as postgres, MariaDB on 127.0.0.1:3306 as root)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

HOST = "127.0.0.1"
PORTS = {
    "postgresql": int(os.environ.get("MOODLE_SOC_PG_PORT", "5432")),
    "mariadb": int(os.environ.get("MOODLE_SOC_MARIADB_PORT", "3306")),
}


def pg_url(database: str, user: str = "postgres", **query: str) -> sa.URL:
    return sa.URL.create(
        "postgresql+psycopg", username=user, host=HOST, port=PORTS["postgresql"],
        database=database, query=query,
    )  # fmt: skip


def maria_url(database: str | None = None) -> sa.URL:
    return sa.URL.create(
        "mariadb+pymysql", username="root", host=HOST, port=PORTS["mariadb"], database=database
    )


def admin_engine(url: sa.URL) -> sa.Engine:
    """The server's administrator, each statement committed, no pooled connection kept."""
    return sa.create_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool,
        connect_args={"connect_timeout": 5},
    )  # fmt: skip


@contextmanager
def temporary_database(kind: str, prefix: str) -> Iterator[str]:
    """A new empty database on the ``kind`` server, dropped after (on PostgreSQL with the role
    of the same name a test may have made). No server is a skip, and under CI a failure: CI
    must not pass by skipping."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    server = admin_engine(pg_url("postgres") if kind == "postgresql" else maria_url())
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as exc:
        server.dispose()
        where = f"{kind} on {HOST}:{PORTS[kind]}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{where} is needed: {exc.orig}")
        pytest.skip(f"no {where}")
    try:
        yield name
    finally:
        with server.connect() as connection:
            if kind == "postgresql":
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                connection.exec_driver_sql(f"DROP ROLE IF EXISTS {name}")
            else:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        server.dispose()
