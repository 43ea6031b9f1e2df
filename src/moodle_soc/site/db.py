"""Read-only database access for one Moodle site, with every query recorded as provenance.

Read-only by construction, whatever engine it is given: the session is made read-only once
open (PostgreSQL read-only transactions, MySQL and MariaDB ``TRANSACTION READ ONLY``, SQLite
``query_only``; see ``session.py``) and the scan's transaction must confirm it before anything
is read. All queries of one scan share that repeatable-read transaction (a consistent
snapshot) under a statement timeout. Nothing here ever writes, so a SELECT-only database user
is enough.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from moodle_soc.errors import CannotConnectError, MoodleSocError, NotMoodleError
from moodle_soc.safety import scrub_secret
from moodle_soc.site.session import STATEMENT_TIMEOUT_SECONDS as STATEMENT_TIMEOUT_SECONDS
from moodle_soc.site.session import require_read_only, start_read_only


@dataclass(frozen=True)
class QueryRecord:
    """Provenance of one query: what was asked, of which data, and a hash of the answer."""

    purpose: str
    sql: str
    params: Mapping[str, Any]
    rows: int
    duration_ms: float
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "sql": self.sql,
            "params": {key: _jsonable(value) for key, value in self.params.items()},
            "rows": self.rows,
            "duration_ms": round(self.duration_ms, 3),
            "sha256": self.sha256,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    return value


def _json_default(value: Any) -> Any:
    """What ``_jsonable`` makes of a value JSON has no form for (the rest as ``str``)."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (set, frozenset)):
        return list(value)
    return str(value)


#: One encoder for every row: ``json.dumps(..., default=str)`` would build one per row.
#: Same text as ``json.dumps([_jsonable(v) for v in row], default=str)``.
_ROW_JSON = json.JSONEncoder(default=_json_default).encode


def _row_encoder() -> Callable[[list[Any]], str]:
    """``_ROW_JSON`` without its set-up per call: ``JSONEncoder.encode`` builds a new C encoder
    for every row (a tenth of the hashing); this builds it once, with the same settings. A row
    from a database cannot contain itself, so no circular-reference bookkeeping is needed."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator in this Python: the plain encoder, same text
        return _ROW_JSON
    iterencode = make(
        None, _json_default, json.encoder.encode_basestring_ascii, None, ": ", ", ",
        False, False, True,
    )  # fmt: skip
    return lambda row: "".join(iterencode(row, 0))


_ROW_TEXT = _row_encoder()


def result_sha256(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """SHA-256 of a result set in a canonical JSON form, the same on every database."""
    digest = hashlib.sha256()
    digest.update(json.dumps(list(columns)).encode())
    update, encode = digest.update, _ROW_TEXT
    for row in rows:
        update(b"\n")
        update(encode(list(row)).encode())
    return digest.hexdigest()


def describe_connect_error(display_url: str, exc: BaseException, password: str | None) -> str:
    """One sentence from a driver error; the password is scrubbed if a driver echoed it."""
    original = getattr(exc, "orig", None) or exc
    text = " ".join(str(original).split())
    text = scrub_secret(text, password).rstrip(".")
    if len(text) > 240:
        text = text[:237] + "..."
    return f"Cannot connect to {display_url}: {text}."


@dataclass
class Database:
    """One read-only connection to a Moodle database, holding one consistent snapshot."""

    engine: Engine
    prefix: str
    display_url: str
    password: str | None = field(default=None, repr=False)
    schema: str | None = None  # PostgreSQL: the schema Moodle's tables are in (dboptions)
    statement_timeout: float = STATEMENT_TIMEOUT_SECONDS  # seconds any one query may take
    records: list[QueryRecord] = field(default_factory=list)
    _connection: Connection | None = field(default=None, repr=False)
    _columns: dict[str, tuple[str, ...]] | None = field(default=None, repr=False)
    _tables: dict[str, sa.TableClause] = field(default_factory=dict, repr=False)
    _unreadable: frozenset[str] | None = field(default=None, repr=False)

    @property
    def backend(self) -> str:
        return self.engine.url.get_backend_name()

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            try:
                connection = self.engine.connect()
            except sa.exc.DBAPIError as exc:
                raise CannotConnectError(
                    describe_connect_error(self.display_url, exc, self.password)
                ) from None
            try:
                start_read_only(connection, self.schema, self.statement_timeout)
                if self.backend != "sqlite":
                    connection = connection.execution_options(isolation_level="REPEATABLE READ")
                connection.begin()
                require_read_only(connection, self.display_url)
                if self.backend == "postgresql":
                    # One savepoint for the whole scan, never released: a failed statement
                    # rolls back to it (``_recover``), so on PostgreSQL it cannot abort the
                    # shared snapshot transaction and every later check with it. Nothing is
                    # written, so rolling back to it loses nothing; one per statement cost
                    # two round trips per query (164 of a fixture scan's 249 statements).
                    # MySQL/MariaDB need none: a failed statement there is undone alone, and
                    # rolling back to a savepoint taken before the first read would drop
                    # InnoDB's read view, so later queries would see a newer database.
                    connection.exec_driver_sql(f"SAVEPOINT {_SAVEPOINT}")
            except sa.exc.DBAPIError as exc:
                connection.close()
                raise CannotConnectError(
                    describe_connect_error(self.display_url, exc, self.password)
                ) from None
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def close(self) -> None:
        """Release the connection; a connection the server already dropped closes quietly
        (the read-only transaction has nothing to keep)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                connection.rollback()
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                connection.close()
        self.engine.dispose()

    def _lost(self, exc: Exception) -> CannotConnectError:
        """The connection dropped mid-scan: the scan cannot be completed (exit 3)."""
        detail = f"The connection to {self.display_url} was lost"
        if isinstance(exc, sa.exc.DBAPIError):
            original = getattr(exc, "orig", None) or exc
            text = scrub_secret(" ".join(str(original).split()), self.password).rstrip(".")
            detail += f" ({text[:237] + '...' if len(text) > 240 else text})"
        return CannotConnectError(
            f"{detail}, so what was being read is incomplete and nothing was stored."
        )

    # --- schema -------------------------------------------------------------------------

    @property
    def columns(self) -> dict[str, tuple[str, ...]]:
        """Columns of every table with this site's prefix, keyed by unprefixed table name."""
        if self._columns is None:
            self._columns = self._introspect()
        return self._columns

    def _introspect(self) -> dict[str, tuple[str, ...]]:
        if self.backend == "sqlite":
            names = [
                row[0]
                for row in self._run(
                    sa.text("SELECT name FROM sqlite_master WHERE type = 'table'"), "schema: tables"
                )[1]
            ]
            found: dict[str, list[str]] = {}
            for name in names:
                if name.startswith(self.prefix):
                    info = self.connection.exec_driver_sql(f'PRAGMA table_info("{name}")')
                    found[name] = [str(row[1]) for row in info]
        else:
            if self.backend == "postgresql":
                query = _PG_COLUMNS
            else:
                query = sa.text(
                    "SELECT table_name AS t, column_name AS c FROM information_schema.columns"
                    " WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position"
                )
            found = {}
            for row in self._run(query, "schema: tables and columns")[1]:
                values: tuple[Any, ...] = tuple(row)
                table_name, column_name = str(values[0]), str(values[1]).lower()
                if table_name.startswith(self.prefix):
                    found.setdefault(table_name, []).append(column_name)
        plen = len(self.prefix)
        return {name[plen:]: tuple(cols) for name, cols in found.items()}

    def all_table_names(self) -> list[str]:
        """Every table name in the schema, prefixed or not (used to suggest a prefix)."""
        if self.backend == "sqlite":
            query = sa.text("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            schema_expr = "current_schema()" if self.backend == "postgresql" else "DATABASE()"
            query = sa.text(
                "SELECT table_name FROM information_schema.tables"
                f" WHERE table_schema = {schema_expr}"
            )
        return [str(row[0]) for row in self._run(query, "schema: all tables")[1]]

    def has_table(self, name: str) -> bool:
        """The table exists (readable or not: an unreadable one fails when queried, as an
        error naming the GRANT it needs, never as a table this Moodle does not have)."""
        return name in self.columns or name in self.unreadable

    @property
    def unreadable(self) -> frozenset[str]:
        """Tables (unprefixed) that exist but this user may not SELECT from.

        The column listing (``information_schema``, or on PostgreSQL the same rows read from
        the catalogue) has only what the user can access, so a missing privilege looks like a
        missing table (and a column-level GRANT like a table missing columns).
        PostgreSQL's catalogue lists every table with its privileges; MySQL/MariaDB hide
        them, so there a core table every supported Moodle has, absent from the listing, is
        taken as unreadable."""
        if self._unreadable is None:
            self._unreadable = self._find_unreadable()
        return self._unreadable

    def _find_unreadable(self) -> frozenset[str]:
        if self.backend == "sqlite":
            return frozenset()
        plen = len(self.prefix)
        if self.backend == "postgresql":
            query = sa.text(
                "SELECT c.relname FROM pg_catalog.pg_class c"
                " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v')"
                " AND NOT has_table_privilege(c.oid, 'SELECT')"
            )
            names = [str(row[0]) for row in self._run(query, "schema: tables not readable")[1]]
            return frozenset(n[plen:] for n in names if n.startswith(self.prefix))
        missing = {t for t in CORE_TABLES if t not in self.columns}
        return frozenset(missing | self._column_only())

    def _column_only(self) -> set[str]:
        """MySQL/MariaDB tables this user was granted SELECT on some columns of, and not on the
        table, the database or every database: the listing shows only those columns."""
        query = sa.text(
            "SELECT DISTINCT table_name FROM information_schema.column_privileges"
            " WHERE table_schema = DATABASE() AND privilege_type = 'SELECT'"
            " AND table_name NOT IN (SELECT table_name FROM information_schema.table_privileges"
            " WHERE table_schema = DATABASE() AND privilege_type = 'SELECT')"
            " AND NOT EXISTS (SELECT 1 FROM information_schema.schema_privileges"
            " WHERE table_schema = DATABASE() AND privilege_type = 'SELECT')"
            " AND NOT EXISTS (SELECT 1 FROM information_schema.user_privileges"
            " WHERE privilege_type = 'SELECT')"
        )
        plen = len(self.prefix)
        names = [str(row[0]) for row in self._run(query, "schema: tables readable in part")[1]]
        return {n[plen:] for n in names if n.startswith(self.prefix)}

    def has_column(self, table: str, column: str) -> bool:
        return column in self.columns.get(table, ())

    def table(self, name: str) -> sa.TableClause:
        """A lightweight table construct for ``<prefix><name>`` with its real columns.

        The same object is returned on every call, so two uses in one statement are the same
        table (use ``.alias()`` for a real self-join).
        """
        if name in self.unreadable:  # also a table the user may read some columns of
            raise UnreadableTableError(name, self.prefix, self.engine.url.username)
        if name not in self.columns:
            raise MissingTableError(name, self.prefix)
        if name not in self._tables:
            columns: list[sa.ColumnClause[Any]] = [sa.column(c) for c in self.columns[name]]
            self._tables[name] = sa.table(self.prefix + name, *columns)
        return self._tables[name]

    # --- queries ------------------------------------------------------------------------

    def _run(self, statement: sa.Executable, purpose: str) -> tuple[list[str], list[sa.Row[Any]]]:
        started = time.perf_counter()
        try:
            connection = self.connection
            result = connection.execute(statement)
            rows = list(result)
            columns = list(result.keys())
        except sa.exc.DBAPIError as exc:
            if _is_lost_connection(exc):
                raise self._lost(exc) from None
            self._recover()
            raise QueryFailedError(purpose, exc, self.password) from None
        except (sa.exc.PendingRollbackError, sa.exc.ResourceClosedError) as exc:  # used again
            raise self._lost(exc) from None
        elapsed = (time.perf_counter() - started) * 1000
        sql, params = _executed(result, statement, self.engine.dialect)
        self.records.append(
            QueryRecord(
                purpose=purpose,
                sql=sql,
                params=params,
                rows=len(rows),
                duration_ms=elapsed,
                sha256=result_sha256(columns, rows),
            )
        )
        return columns, rows

    def _recover(self) -> None:
        """After a failed statement: back to the scan's savepoint, so the transaction (and its
        snapshot) serves the next query; quietly, as a connection lost meanwhile is reported
        by that next query."""
        if self._connection is not None and self.backend == "postgresql":
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self._connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")

    def fetch_all(self, statement: sa.Executable, purpose: str) -> list[RowMapping]:
        _columns, rows = self._run(statement, purpose)
        return [row._mapping for row in rows]

    def fetch_one(self, statement: sa.Executable, purpose: str) -> RowMapping | None:
        rows = self.fetch_all(statement, purpose)
        return rows[0] if rows else None

    def scalar(self, statement: sa.Executable, purpose: str) -> Any:
        _, rows = self._run(statement, purpose)
        return rows[0][0] if rows else None

    def stream(
        self,
        statement: sa.Select[Any],
        key: sa.ColumnElement[Any],
        purpose: str,
        chunk_size: int = 5000,
    ) -> Iterator[RowMapping]:
        """Keyset-paginated rows ordered by ``key``: bounded memory for large tables."""
        last: Any = None
        key_name = getattr(key, "name", None)
        key_first = key_name is None
        while True:
            page = statement.order_by(key).limit(chunk_size)
            if last is not None:
                page = page.where(key > last)
            rows = self.fetch_all(page, purpose)
            yield from rows
            if len(rows) < chunk_size:
                return
            last = next(iter(rows[-1].values())) if key_first else rows[-1][str(key_name)]


def _is_lost_connection(exc: sa.exc.DBAPIError) -> bool:
    return bool(exc.connection_invalidated)


#: PostgreSQL's ``information_schema.columns`` restricted to what ``_introspect`` reads: the
#: same rows in the same order (tables, views, foreign and partitioned tables; the columns
#: this user holds a privilege on or owns), without the view's joins for types, defaults and
#: collations, which made it the slowest query of a small site's scan (about 30 ms of 50).
_PG_COLUMNS = sa.text(
    "SELECT c.relname AS t, a.attname AS c FROM pg_catalog.pg_attribute a"
    " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'f', 'p')"
    " AND a.attnum > 0 AND NOT a.attisdropped"
    " AND (pg_has_role(c.relowner, 'USAGE')"
    " OR has_column_privilege(c.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES'))"
    " ORDER BY c.relname, a.attnum"
)

#: The savepoint a failed statement rolls back to (see ``Database.connection``).
_SAVEPOINT = "moodle_soc_scan"


def _executed(
    result: sa.CursorResult[Any], statement: sa.Executable, dialect: sa.Dialect
) -> tuple[str, dict[str, Any]]:
    """The SQL text and parameters a query ran with, as provenance: the statement the driver
    was given (IN-lists written out, as ``render_postcompile`` would) and its values before
    type processing. Compiling the statement a second time for this cost a sixth of a small
    site's scan; a result without that context (none is known) is compiled again."""
    context = getattr(result, "context", None)
    compiled = getattr(context, "compiled", None)
    if context is not None and compiled is not None and not compiled.escaped_bind_names:
        return " ".join(context.statement.split()), dict(context.compiled_parameters[0])
    again = statement.compile(  # type: ignore[attr-defined]
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    return " ".join(str(again).split()), dict(again.params)


class QueryFailedError(MoodleSocError):
    """One query failed (timeout, permission, unexpected schema): that check becomes an error;
    where it ends a command (``logs``), it could not read the site: exit 3."""

    exit_code = CannotConnectError.exit_code

    def __init__(self, purpose: str, exc: sa.exc.DBAPIError, password: str | None) -> None:
        original = getattr(exc, "orig", None) or exc
        text = " ".join(str(original).split()).split(" [SQL:")[0]
        text = scrub_secret(text, password)
        super().__init__(f"Query '{purpose}' failed: {text[:240].rstrip('.')}.")
        self.purpose = purpose


#: Tables every supported Moodle (3.9 and later) has: absent from a MySQL/MariaDB listing,
#: they are there but not readable by this user.
CORE_TABLES = frozenset(
    {
        "backup_courses", "capabilities", "config", "config_log", "config_plugins", "context",
        "course", "enrol", "external_functions", "external_services",
        "external_services_functions",
        "external_tokens", "logstore_standard_log", "role", "role_assignments",
        "role_capabilities", "sessions", "task_adhoc", "task_log",
        "task_scheduled", "upgrade_log", "user", "user_enrolments", "user_preferences",
    }
)  # fmt: skip


class UnreadableTableError(MoodleSocError):
    """A table exists but this database user may not read it: the check cannot run (an
    ``error`` naming the GRANT needed), never "this Moodle has no such table"."""

    exit_code = CannotConnectError.exit_code

    def __init__(self, table: str, prefix: str, user: str | None) -> None:
        who = user or "the scanning user"
        super().__init__(
            f"Table {prefix}{table} exists but {who} may not read it, so this control could"
            f" not be checked: GRANT SELECT ON {prefix}{table} TO {who}"
        )
        self.table = table


class MissingTableError(NotMoodleError):
    """A table the query needs does not exist (an optional feature, or the wrong prefix)."""

    def __init__(self, table: str, prefix: str) -> None:
        super().__init__(f"Table {prefix}{table} does not exist in this database.")
        self.table = table
