"""Bulk-writing synthetic rows into SQLite, PostgreSQL or MariaDB.

Rows are plain dicts; a missing column takes the column's default and a key the table does not
have (a column of a later release) is dropped. Rows go in chunks through the driver's
``executemany``, or through ``COPY`` on PostgreSQL with psycopg 3; indexes are built after the
data, which is several times faster than maintaining them during the load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

__all__ = ["CHUNK_ROWS", "Progress", "Row", "write_rows"]

Row = dict[str, Any]
Progress = Callable[[int, int], None]
CHUNK_ROWS = 5000


def _python_default(column: sa.Column[Any]) -> Any:
    numeric = isinstance(column.type, sa.Integer | sa.Numeric)
    server = column.server_default
    if isinstance(server, sa.DefaultClause):
        arg = server.arg
        text = arg.text if isinstance(arg, sa.TextClause) else str(arg)
        return int(text) if numeric else text
    if column.nullable:
        return None
    return 0 if numeric else ""


class _TableWriter:
    """Turns dict rows into tuples for one table and sends them to the database."""

    def __init__(self, conn: sa.Connection, table: sa.Table) -> None:
        self.conn = conn
        self.table = table
        self.defaults = [(c.name, _python_default(c)) for c in table.columns]
        self.quote = conn.dialect.identifier_preparer.quote
        dialect = conn.dialect
        self.copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        self.explicit_ids = False

    def insert(self, chunk: list[Row]) -> None:
        with_id = "id" in chunk[0]
        self.explicit_ids |= with_id
        defaults = self.defaults if with_id else self.defaults[1:]
        data = [tuple([row.get(name, default) for name, default in defaults]) for row in chunk]
        names = ", ".join(self.quote(name) for name, _ in defaults)
        target = f"{self.quote(self.table.name)} ({names})"
        if self.copy:
            dbapi_conn: Any = self.conn.connection.dbapi_connection
            with dbapi_conn.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
                for values in data:
                    copy.write_row(values)
            return
        mark = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        marks = ", ".join([mark] * len(defaults))
        self.conn.exec_driver_sql(f"INSERT INTO {target} VALUES ({marks})", data)

    def sync_sequence(self) -> None:
        """Move PostgreSQL's id sequence past explicitly inserted ids."""
        if not self.explicit_ids or self.conn.dialect.name != "postgresql":
            return
        name = self.quote(self.table.name)
        self.conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
        )
        self.explicit_ids = False


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def write_rows(
    engine: sa.Engine,
    metadata: sa.MetaData,
    sources: Iterable[tuple[str, Iterable[Row]]],
    *,
    create_schema: bool = True,
    progress: Progress | None = None,
    total: int = 0,
) -> int:
    """Write every (table name, rows) source in order, in one transaction; return the row count.

    Within one source, either every row carries an ``id`` or none does (the database then
    numbers them after the existing rows).
    """
    done = 0
    with engine.begin() as conn:
        if create_schema:
            for table in metadata.sorted_tables:
                conn.execute(CreateTable(table))
        writers: dict[str, _TableWriter] = {}
        for name, rows in sources:
            writer = writers.get(name) or writers.setdefault(
                name, _TableWriter(conn, metadata.tables[name])
            )
            for chunk in _chunks(rows, CHUNK_ROWS):
                writer.insert(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, max(total, done))
            writer.sync_sequence()
        if create_schema:
            for table in metadata.sorted_tables:
                for index in sorted(table.indexes, key=lambda i: str(i.name)):
                    conn.execute(CreateIndex(index))
    return done
