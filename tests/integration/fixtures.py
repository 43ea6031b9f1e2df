"""Helpers of the integration suite: the real Moodle fixtures, the local servers, the CLI.

The three real Moodle databases (``<repo>/../shared/fixtures``) are restored into the local
PostgreSQL and MariaDB servers under a name unique to the test session, and dropped after it.
Outside CI a missing fixture or server skips the tests that need it; with ``CI=true`` it fails
them, so a broken CI machine can never pass by skipping everything.
"""

from __future__ import annotations

import atexit
import fcntl
import gzip
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest
import sqlalchemy as sa

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSWORD_ENV = "MOODLE_SOC_DB_PASSWORD"
STORE_ENV = "MOODLE_SOC_STORE"
HOST = "127.0.0.1"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(message: str) -> NoReturn:
    """Fail under CI (a missing fixture or server is a broken build), skip elsewhere."""
    if in_ci():
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def fixtures_dir() -> Path:
    """``<repo>/../shared/fixtures``: beside the clone, never copied into it."""
    override = os.environ.get("MOODLE_SOC_FIXTURES")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "fixtures"


def require(path: Path) -> Path:
    if not path.is_file():
        unavailable(f"Moodle fixture {path} is missing (see ../shared/fixtures/README.md).")
    return path


def require_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        unavailable(f"The command-line client {name!r} is not installed.")
    return found


def new_tag() -> str:
    return secrets.token_hex(4)


#: Names one test run, the same in every pytest-xdist worker: ``tests/conftest.py`` sets it in
#: the process that starts the workers, which inherit it.
RUN_ENV = "MOODLE_SOC_TEST_RUN"
RUN_DIR_PREFIX = "moodle-soc-test-run-"


def run_tag() -> str:
    tag = os.environ.get(RUN_ENV)
    if not tag:  # imported outside a pytest run that set it: this process is the run
        tag = os.environ[RUN_ENV] = new_tag()
    return tag


def run_dir(tag: str | None = None) -> Path:
    """Where the processes of one run coordinate: a lock per run-wide database, and a file
    naming each such database so the run's end can drop it (even one a crashed worker left)."""
    return Path(tempfile.gettempdir()) / f"{RUN_DIR_PREFIX}{tag or run_tag()}"


def claim_run(tag: str) -> None:
    """Mark run ``tag`` as this process's, so a later run can tell when it was abandoned."""
    directory = run_dir(tag)
    directory.mkdir(exist_ok=True)
    (directory / "pid").write_text(str(os.getpid()), encoding="ascii")


def drop_abandoned_runs() -> list[str]:
    """Drop the databases of earlier runs whose process is gone (killed before their end could
    drop them); returns what could not be dropped."""
    problems = []
    for directory in Path(tempfile.gettempdir()).glob(RUN_DIR_PREFIX + "*"):
        try:
            pid = int((directory / "pid").read_text(encoding="ascii"))
        except (OSError, ValueError):  # not claimed (yet): not ours to judge
            continue
        if not _alive(pid):
            problems += drop_run_databases(directory.name.removeprefix(RUN_DIR_PREFIX))
    return problems


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _listed(server: Server, name: str) -> None:
    """Note a database in the run directory, so the run's end (or a later run, if this one
    is killed) drops it even when this process cannot."""
    directory = run_dir()
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.{server.kind}").touch()


@contextmanager
def run_lock(name: str) -> Iterator[Path]:
    """Held by one process of the run at a time; yields the run directory."""
    directory = run_dir()
    directory.mkdir(exist_ok=True)
    with (directory / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield directory


# --- the fixture sites --------------------------------------------------------------------------


@dataclass(frozen=True)
class FixtureSite:
    """One real Moodle fixture and the facts the tests rely on."""

    key: str
    stem: str  # file-name stem: <stem>-config.php, <stem>-checks-<type>.txt
    dump: str
    server: str  # "postgresql" or "mariadb"
    prefix: str
    #: The audit time: just after the dump, when Moodle's own checks (the oracle) ran.
    #: weak: the ad hoc queue (nextruntime up to 1795936430) was "info", so < +600 s;
    #: hardened: tool_task/lastcronstart 1795936600 with cron "OK", so < +120 s;
    #: legacy: last log row 1795937229, last config_log 1795937232, cron never ran.
    as_of: str
    release: str

    @property
    def config_file(self) -> Path:
        return fixtures_dir() / f"{self.stem}-config.php"

    @property
    def dump_file(self) -> Path:
        return fixtures_dir() / self.dump

    @property
    def audit_time(self) -> datetime:
        return datetime.fromisoformat(self.as_of)


WEAK = FixtureSite(
    key="weak",
    stem="moodle51-weak",
    dump="moodle51-weak-pgsql.sql.gz",
    server="postgresql",
    prefix="mdl_",
    as_of="2026-11-29T07:16:40+00:00",  # 1795936600
    release="5.1",
)
HARDENED = FixtureSite(
    key="hardened",
    stem="moodle51-hardened",
    dump="moodle51-hardened-mariadb.sql.gz",
    server="mariadb",
    prefix="mdl_",
    as_of="2026-11-29T07:17:40+00:00",  # 1795936660
    release="5.1",
)
LEGACY = FixtureSite(
    key="legacy",
    stem="moodle41-legacy",
    dump="moodle41-legacy-pgsql.sql.gz",
    server="postgresql",
    prefix="m41_",
    as_of="2026-11-29T07:28:20+00:00",  # 1795937300
    release="4.1",
)
FIXTURE_SITES = (WEAK, HARDENED, LEGACY)


# --- cleanup at session end ---------------------------------------------------------------------


class Cleanup:
    """Drops throwaway databases in the background and runs the rest at session end.

    Dropping a database takes seconds on a busy server, so each drop starts when its fixture is
    torn down and all of them are awaited together in ``pytest_sessionfinish``; login roles are
    dropped after that, once no database holds a privilege of theirs.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[tuple[str, Future[None]]] = []
        self._final: list[tuple[str, Callable[[], None]]] = []
        # A safety net if this module is ever imported twice (pytest import modes) and the
        # session hook only sees the other copy: leave no role or database behind.
        atexit.register(self.finish)

    def background(self, what: str, action: Callable[[], None]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="msoc-cleanup")
        self._pending.append((what, self._pool.submit(action)))

    def at_end(self, what: str, action: Callable[[], None]) -> None:
        self._final.append((what, action))

    def finish(self) -> list[str]:
        """Run everything; returns what could not be cleaned up (never raises)."""
        problems = []
        for what, future in self._pending:
            try:
                future.result(timeout=300)
            except Exception as exc:  # report, keep cleaning
                problems.append(f"{what}: {exc}")
        for what, action in self._final:
            try:
                action()
            except Exception as exc:  # report, keep cleaning
                problems.append(f"{what}: {exc}")
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._pool, self._pending, self._final = None, [], []
        return problems


CLEANUP = Cleanup()


# --- the local servers --------------------------------------------------------------------------


def _run(
    command: list[str], *, stdin: int | None = None, data: bytes | None = None, what: str
) -> None:
    env = {**os.environ, "PGOPTIONS": "-c synchronous_commit=off"}
    done = subprocess.run(
        command, stdin=stdin, input=data, capture_output=True, check=False, env=env
    )
    if done.returncode != 0:
        output = (done.stderr or done.stdout).decode("utf-8", "replace")
        detail = output.strip().splitlines()[-3:]
        raise RuntimeError(f"{what} failed ({done.returncode}): {' / '.join(detail)}")


@dataclass(frozen=True)
class Server:
    """A local database server reached as its administrator (trust / empty password)."""

    kind: str  # "postgresql" or "mariadb"
    port: int
    admin: str

    @property
    def driver(self) -> str:
        return "postgresql+psycopg" if self.kind == "postgresql" else "mariadb+pymysql"

    def url(self, database: str, user: str | None = None, password: str | None = None) -> str:
        """A ``--db`` URL as a user types it (no driver name; no password unless given)."""
        scheme = "postgresql" if self.kind == "postgresql" else "mariadb"
        auth = user or self.admin
        if password is not None:
            auth += ":" + password
        return f"{scheme}://{auth}@{HOST}:{self.port}/{database}"

    def admin_engine(self, database: str | None = None, *, autocommit: bool = True) -> sa.Engine:
        query = {"charset": "utf8mb4"} if self.kind == "mariadb" else {}
        default = "postgres" if self.kind == "postgresql" else None
        url = sa.URL.create(
            self.driver,
            username=self.admin,
            host=HOST,
            port=self.port,
            database=database or default,
            query=query,
        )
        connect_args = {"connect_timeout": 5}
        isolation = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        return sa.create_engine(
            url, poolclass=sa.pool.NullPool, connect_args=connect_args, **isolation
        )

    def ping(self) -> str | None:
        """None when the server answers, else why not."""
        try:
            engine = self.admin_engine()
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            engine.dispose()
        except Exception as exc:  # any driver error means "no usable server"
            return " ".join(str(getattr(exc, "orig", exc)).split())[:200]
        return None

    def create_database(self, name: str, *, template: str = "template0") -> None:
        """An empty database, or on PostgreSQL a copy of ``template`` (nobody may be connected
        to it)."""
        if self.kind == "postgresql":
            require_tool("createdb")
            command = ["createdb", "-h", HOST, "-p", str(self.port), "-U", self.admin]
            _run(
                [*command, "-E", "UTF8", "-T", template, name],
                what=f"createdb {name}",
            )
        else:
            self.execute(
                f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )

    def restore(self, name: str, dump: Path) -> None:
        """Load a gzipped SQL dump with the server's own CLI client (the fastest path)."""
        if self.kind == "postgresql":
            client = [require_tool("psql"), "-h", HOST, "-p", str(self.port), "-U", self.admin]
            # Not one transaction: a dump of ~500 tables holds thousands of locks until commit,
            # and parallel restores (pytest -n) then exhaust max_locks_per_transaction.
            # synchronous_commit=off (see _run) keeps statement-by-statement loading fast.
            client += ["-q", "-v", "ON_ERROR_STOP=1", "-o", os.devnull, name]
        else:
            client = [require_tool("mysql"), "-h", HOST, "-P", str(self.port), "-u", self.admin]
            client += [name]
            # Creating ~500 InnoDB tables one after the other waits on the disk (a file and
            # fsyncs per table), not the CPU: the tables load over several connections at once.
            parts = _mariadb_dump_parts(dump, MARIADB_RESTORE_CONNECTIONS)
            what = f"restoring {dump.name} into {name}"
            with ThreadPoolExecutor(len(parts), thread_name_prefix="msoc-mysql") as pool:
                for loaded in [pool.submit(_run, client, data=p, what=what) for p in parts]:
                    loaded.result()
            return
        gunzip = subprocess.Popen(["gunzip", "-c", str(dump)], stdout=subprocess.PIPE)
        assert gunzip.stdout is not None
        try:
            _run(client, stdin=gunzip.stdout.fileno(), what=f"restoring {dump.name} into {name}")
        finally:
            gunzip.stdout.close()
            gunzip.wait()
        if gunzip.returncode != 0:
            raise RuntimeError(f"gunzip {dump} failed ({gunzip.returncode}).")

    def drop_database(self, name: str) -> None:
        if self.kind == "postgresql":
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            self.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def execute(self, *statements: str, database: str | None = None) -> None:
        engine = self.admin_engine(database)
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.execute(sa.text(statement))
        finally:
            engine.dispose()


MARIADB_RESTORE_CONNECTIONS = 8
_MYSQLDUMP_TABLE = b"\n--\n-- Table structure for table "


def _mariadb_dump_parts(dump: Path, parts: int) -> list[bytes]:
    """mysqldump's script cut table by table into ``parts`` scripts, each starting with the
    dump's own session settings (character set, no key checks), so each can load on its own."""
    text = gzip.decompress(dump.read_bytes())
    head, *tables = text.split(_MYSQLDUMP_TABLE)
    if not tables:  # not laid out as expected: load it whole
        return [text]
    return [
        head + b"".join(_MYSQLDUMP_TABLE + table for table in tables[start::parts])
        for start in range(min(parts, len(tables)))
    ]


POSTGRES = Server("postgresql", int(os.environ.get("MOODLE_SOC_PG_PORT", "5432")), "postgres")
MARIADB = Server("mariadb", int(os.environ.get("MOODLE_SOC_MARIADB_PORT", "3306")), "root")
SERVERS = {"postgresql": POSTGRES, "mariadb": MARIADB}


@dataclass
class ReadOnlyUser:
    """A database login that may only SELECT (what a careful DBA would give the auditor)."""

    server: Server
    name: str
    password: str = field(repr=False)
    databases: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, server: Server, tag: str) -> ReadOnlyUser:
        user = cls(server, f"msoc_ro_{tag}", "Ro-" + secrets.token_urlsafe(18))
        if server.kind == "postgresql":
            server.execute(f"CREATE ROLE {user.name} LOGIN PASSWORD '{user.password}'")
        else:
            server.execute(f"CREATE USER '{user.name}'@'%' IDENTIFIED BY '{user.password}'")
        return user

    def grant(self, database: str) -> None:
        if database in self.databases:
            return
        if self.server.kind == "postgresql":
            self.server.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {self.name}')
            self.server.execute(
                f"GRANT USAGE ON SCHEMA public TO {self.name}",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {self.name}",
                database=database,
            )
        else:
            self.server.execute(f"GRANT SELECT ON `{database}`.* TO '{self.name}'@'%'")
        self.databases.append(database)

    def drop(self) -> None:
        """MariaDB users go now; a PostgreSQL role once its databases are gone."""
        if self.server.kind == "postgresql":
            CLEANUP.at_end(f"drop role {self.name}", self._drop_role)
        else:
            self.server.execute(f"DROP USER IF EXISTS '{self.name}'@'%'")

    def _drop_role(self) -> None:
        engine = self.server.admin_engine()
        try:
            with engine.connect() as connection:
                existing = {
                    row[0] for row in connection.execute(sa.text("SELECT datname FROM pg_database"))
                }
        finally:
            engine.dispose()
        for database in self.databases:
            if database in existing:
                self.server.execute(f"DROP OWNED BY {self.name}", database=database)
                self.server.execute(f'REVOKE ALL ON DATABASE "{database}" FROM {self.name}')
        self.server.execute(f"DROP ROLE IF EXISTS {self.name}")


# --- a restored fixture ------------------------------------------------------------------------

_CFG_LINE = r"^(\$CFG->{key}\s*=\s*)'[^']*'(;.*)$"


def rewrite_config_php(text: str, *, dbname: str, dbuser: str, dbhost: str = HOST) -> str:
    """config.php pointed at a restored copy: only dbname, dbuser and dbhost change."""
    for key, value in (("dbname", dbname), ("dbuser", dbuser), ("dbhost", dbhost)):
        replacement = rf"\g<1>'{value}'\g<2>"
        text, count = re.subn(_CFG_LINE.format(key=key), replacement, text, flags=re.M)
        if count != 1:
            raise AssertionError(f"config.php sets $CFG->{key} {count} times, expected once.")
    return text


@dataclass
class RestoredSite:
    """A real fixture restored into a throwaway database on a local server."""

    fixture: FixtureSite
    server: Server
    database: str

    @property
    def prefix(self) -> str:
        return self.fixture.prefix

    def url(self, user: str | None = None, password: str | None = None) -> str:
        return self.server.url(self.database, user, password)

    @cached_property
    def admin(self) -> sa.Engine:
        """An administrator connection, for the tests' own look-ups (never the tool's)."""
        return self.server.admin_engine(self.database)

    def rows(self, sql: str, **params: object) -> list[sa.RowMapping]:
        """Admin query; ``{p}`` in ``sql`` is the table prefix."""
        with self.admin.connect() as connection:
            result = connection.execute(sa.text(sql.replace("{p}", self.prefix)), params)
            return [row._mapping for row in result]

    def scalar(self, sql: str, **params: object) -> object:
        rows = self.rows(sql, **params)
        return next(iter(rows[0].values())) if rows else None

    def config_php_text(self, user: str | None = None) -> str:
        original = require(self.fixture.config_file).read_text(encoding="utf-8")
        return rewrite_config_php(original, dbname=self.database, dbuser=user or self.server.admin)

    def write_config_php(self, directory: Path, user: str | None = None) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.fixture.key}-{user or 'admin'}-config.php"
        path.write_text(self.config_php_text(user), encoding="utf-8")
        return path

    def open_site(self, *, user: str | None = None, password: str | None = None) -> MoodleSite:
        """The tool's own read-only MoodleSite over this copy, with its config.php."""
        from moodle_soc.site.connect import open_site, spec_from_url
        from moodle_soc.site.phpconfig import parse_config_php

        config_php = parse_config_php(self.config_php_text(user), str(self.fixture.config_file))
        spec = spec_from_url(self.url(user), self.prefix, password if user else "")
        return open_site(spec, config_php=config_php, audit_time=self.fixture.audit_time)

    def drop(self, *, wait: bool = False) -> None:
        if "admin" in self.__dict__:
            self.admin.dispose()
        if wait:
            self.server.drop_database(self.database)
        else:
            CLEANUP.background(
                f"drop database {self.database}", lambda: self.server.drop_database(self.database)
            )


def restore_fixture(fixture: FixtureSite, tag: str) -> RestoredSite:
    """A fresh copy of ``fixture`` named after ``tag``, for the caller alone.

    On PostgreSQL it is copied from the run's template of the fixture (about a second, where
    loading the dump takes ten or more); on MariaDB, which has no templates, the dump loads.
    """
    dump = require(fixture.dump_file)
    require(fixture.config_file)
    server = SERVERS[fixture.server]
    problem = server.ping()
    if problem is not None:
        unavailable(f"No {server.kind} server at {HOST}:{server.port} ({problem}).")
    name = f"msoc_{fixture.key}_{tag}"
    _listed(server, name)
    if server.kind == "postgresql":
        server.create_database(name, template=postgres_template(fixture, dump))
        return RestoredSite(fixture, server, name)
    server.create_database(name)
    site = RestoredSite(fixture, server, name)
    try:
        server.restore(name, dump)
    except BaseException:
        site.drop(wait=True)
        raise
    return site


def postgres_template(fixture: FixtureSite, dump: Path) -> str:
    """The run's pristine copy of a PostgreSQL fixture, which the copies are made from.

    The first process of the run (any xdist worker) that needs it loads the dump; the others
    wait for it. Connections to it are refused, so nothing can change it or block a copy; the
    process that started the run drops it at the end (``drop_run_databases``).
    """
    server = SERVERS[fixture.server]
    name = f"msoc_{fixture.key}_template_{run_tag()}"
    with run_lock(name) as directory:
        loaded = directory / f"{name}.loaded"
        if not loaded.exists():
            _listed(server, name)
            server.drop_database(name)  # what a failed attempt left
            server.create_database(name)
            try:
                server.restore(name, dump)
                server.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            except BaseException:
                server.drop_database(name)
                raise
            loaded.touch()
    return name


def drop_run_databases(tag: str) -> list[str]:
    """Drop the run-wide databases of run ``tag``; returns what could not be dropped."""
    directory = run_dir(tag)
    if not directory.is_dir():
        return []
    problems = []
    for listed in sorted(directory.glob("*.postgresql")) + sorted(directory.glob("*.mariadb")):
        try:
            SERVERS[listed.suffix[1:]].drop_database(listed.stem)
        except Exception as exc:  # report, keep cleaning
            problems.append(f"drop database {listed.stem}: {exc}")
    shutil.rmtree(directory, ignore_errors=True)
    return problems


# --- the command line ---------------------------------------------------------------------------


def cli_path() -> Path:
    """The ``moodle-soc`` console script of the venv running the tests."""
    return Path(sys.executable).with_name("moodle-soc")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (PASSWORD_ENV, STORE_ENV)}
    env.update({"NO_COLOR": "1", "COLUMNS": "160"})
    env.update(extra or {})
    return env


def run_cli(
    *args: str | Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``moodle-soc`` in ``cwd`` (no stray ./moodle-soc.yaml) and capture both streams."""
    script = cli_path()
    if not script.exists():
        pytest.fail(f"{script} is missing: install the package into the venv (pip install -e .).")
    # Scans record each run in an evidence store: keep it beside the run, never in $HOME.
    isolated = {STORE_ENV: str(cwd / "evidence.sqlite"), **(env or {})}
    return subprocess.run(
        [str(script), *map(str, args)],
        cwd=cwd,
        env=clean_env(isolated),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin if stdin is not None else "",
        check=False,
    )


def sqlite_text(path: Path) -> str:
    """Every value of every table of a SQLite file, as text (for searching an evidence store)."""
    if not path.exists():
        return ""
    import sqlite3

    parts: list[str] = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes) and value[:2] == b"\x1f\x8b":
                        # a run's population (gzip'd findings): searched as the text it holds
                        parts.append(gzip.decompress(value).decode("utf-8", "replace"))
                    elif isinstance(value, bytes):
                        parts.append(value.decode("utf-8", "replace"))
                    elif value is not None:
                        parts.append(str(value))
    connection.close()
    return "\n".join(parts)


def describe(done: subprocess.CompletedProcess[str]) -> str:
    """For assertion messages: the exit code and the end of both streams."""
    return (
        f"exit {done.returncode}\n--- stdout (tail) ---\n{done.stdout[-1500:]}"
        f"\n--- stderr (tail) ---\n{done.stderr[-3000:]}"
    )
