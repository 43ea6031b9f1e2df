"""Where the evidence store lives, the engine that reaches it, and its schema revision.

The schema is migrated only when it is not at the newest revision this version ships (a new
store, or one written by an older version): opening an up-to-date store reads one row of
``alembic_version`` and never imports Alembic. A store written by a newer version is refused
rather than half-understood.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from moodle_soc.errors import BadInputError, MoodleSocError
from moodle_soc.evidence.store import schema

STORE_ENV = "MOODLE_SOC_STORE"
WRITE_OPTION = "moodle_soc_write"
MIGRATIONS = Path(__file__).with_name("migrations")
# One application-wide advisory lock id for schema migrations on PostgreSQL.
_MIGRATION_LOCK = 0x6D736F63
_VERSION_TABLE = "alembic_version"


class StoreError(MoodleSocError):
    """The store cannot be opened or written (exit code 7: bad input)."""

    exit_code = BadInputError.exit_code


def default_location(configured: str | None = None) -> str:
    """Where the store is: $MOODLE_SOC_STORE, else ``configured`` (moodle-soc.yaml's
    ``store:``), else evidence.sqlite in the user's data directory. An explicit --store
    is passed to ``open_store`` directly and beats all of these."""
    if os.environ.get(STORE_ENV):
        return os.environ[STORE_ENV]
    if configured:
        return configured
    import platformdirs

    return str(Path(platformdirs.user_data_dir("moodle-soc")) / "evidence.sqlite")


def shown(location: str) -> str:
    """``location`` as it may be printed: a URL's password hidden (even in a malformed URL)."""
    if "://" not in location:
        return location
    try:
        return sa.make_url(location).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", location)


def _url(location: str) -> sa.URL:
    try:
        return sa.make_url(location)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise StoreError(
            f"The evidence store location {shown(location)} is not a valid database URL ({exc})."
        ) from None


def engine_for(location: str) -> Engine:
    """An engine for a SQLite path or a postgresql:// URL (anything else is refused)."""
    if "://" in location:
        url = _url(location)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        if url.get_backend_name() not in ("postgresql", "sqlite"):
            raise StoreError(
                f"The evidence store must be SQLite or PostgreSQL, not {url.drivername}."
            )
        return sa.create_engine(url)
    path = Path(location).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 60})

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL keeps readers working during a write; full sync makes a commit survive a crash.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        # Writers take the write lock at BEGIN, so two writers queue instead of failing
        # mid-way; readers begin deferred, so WAL lets them read during a write.
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


#: How long an opening waits for another process's switch of a new store to WAL (the same
#: as the busy timeout any other statement waits).
WAL_SWITCH_SECONDS = 60.0


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """Put the store in WAL mode. The switch of a new file takes an exclusive lock, and SQLite
    answers "database is locked" at once rather than wait for it: two processes opening a new
    store together (a fleet's first sites) failed one of them. Once switched, the file stays
    in WAL mode and the pragma takes no lock, so only first openings ever retry."""
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def writing(engine: Engine) -> Engine:
    """The engine for write transactions (SQLite: BEGIN IMMEDIATE)."""
    return engine.execution_options(**{WRITE_OPTION: True})


# --- schema revision --------------------------------------------------------------------------


@dataclass(frozen=True)
class Revisions:
    """The migration scripts this version ships, read from their text (no Alembic import)."""

    head: str
    known: frozenset[str]


# ``revision = "0002"`` / ``down_revision: str | None = "0001"`` (or None), as Alembic writes them.
_ASSIGNMENT = re.compile(
    r"""^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(?:["']([^"'\n]*)["']|None)""", re.MULTILINE
)


@functools.cache
def shipped_revisions(folder: Path = MIGRATIONS / "versions") -> Revisions:
    """The head revision of ``folder`` (the one no script revises) and every revision in it."""
    known: set[str] = set()
    revised: set[str] = set()
    for script in sorted(folder.glob("*.py")):
        values = dict(_ASSIGNMENT.findall(script.read_text(encoding="utf-8")))
        if values.get("revision"):
            known.add(values["revision"])
            if values.get("down_revision"):  # empty: None, the first revision
                revised.add(values["down_revision"])
    heads = known - revised
    if len(heads) != 1:
        raise RuntimeError(f"Migrations in {folder} must have exactly one head, not {heads}.")
    return Revisions(head=heads.pop(), known=frozenset(known))


def stored_revisions(connection: Connection) -> tuple[bool, frozenset[str]]:
    """Whether the records table exists, and the revision(s) ``alembic_version`` holds."""
    inspector = sa.inspect(connection)
    has_records = inspector.has_table(schema.records.name)
    if not inspector.has_table(_VERSION_TABLE):
        return has_records, frozenset()
    rows = connection.execute(sa.text(f"SELECT version_num FROM {_VERSION_TABLE}"))
    return has_records, frozenset(str(row[0]) for row in rows)


def prepare(
    engine: Engine, location: str, *, create: bool, shipped: Revisions | None = None
) -> bool:
    """Check the store's schema revision against ``shipped`` (the migrations this version
    ships); create or upgrade the schema only when needed. Returns whether it migrated."""
    with engine.connect() as connection:
        has_records, current = stored_revisions(connection)
    if not has_records and not create:
        raise StoreError(f"No evidence store at {shown(location)}; check --store.")
    shipped = shipped or shipped_revisions()
    if has_records and current == {shipped.head}:
        return False
    unknown = sorted(current - shipped.known)
    if unknown:
        raise StoreError(
            f"The evidence store {shown(location)} is at schema revision {', '.join(unknown)},"
            f" which this version of moodle-soc does not know (its newest is {shipped.head}):"
            " it was written by a newer moodle-soc; upgrade moodle-soc to use it."
        )
    migrate(engine)
    return True


def migrate(engine: Engine) -> None:
    """Bring the store's schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with writing(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two first uses at once would both create the tables: serialize them.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
